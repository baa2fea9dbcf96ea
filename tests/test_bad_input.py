"""Bad input gets one clear line naming the thing, never a deep traceback."""

from __future__ import annotations

import json

import pytest

import shdata
from shdata.errors import DataFileError, DescriptorError, UnknownTableError


def test_unknown_table_id_suggests_close_matches():
    with pytest.raises(UnknownTableError) as err:
        shdata.load("nsfc_project_by_programme")
    msg = str(err.value)
    assert "'nsfc_project_by_programme'" in msg and "nsfc_projects_by_programme" in msg
    assert "\n" not in msg


def test_unknown_table_id_with_a_partial_name():
    with pytest.raises(UnknownTableError, match="unicorn"):
        shdata.metadata("unicorn")


def test_non_numeric_cell_names_file_row_and_column(editor):
    editor.replace("nsfc_projects_by_programme", "2171,106754.50", "2171,106754.5O")
    with pytest.raises(DataFileError) as err:
        editor.package().load("nsfc_projects_by_programme")
    msg = str(err.value)
    assert "nsfc_projects_by_programme.csv" in msg and "row 2" in msg and "'amount'" in msg
    assert "106754.5O" in msg


def test_thousands_separator_or_unit_in_a_number_is_refused(editor):
    editor.replace("patents", ",6185,", ',"6,185",')
    with pytest.raises(DataFileError, match=r"patents.csv, row \d+, column 'value'"):
        editor.package().load("patents")


def test_integer_column_refuses_decimals(editor):
    editor.replace("nsfc_projects_by_programme", "面上项目,General Program,2171", "面上项目,General Program,2171.5")
    with pytest.raises(DataFileError, match="'projects'.*not an integer"):
        editor.package().load("nsfc_projects_by_programme")


def test_negative_count_is_refused(editor):
    editor.replace("nsfc_projects_by_programme", ",2171,", ",-2171,")
    with pytest.raises(DataFileError, match="'projects'.*minimum|must not be negative"):
        editor.package().load("nsfc_projects_by_programme")


def test_share_above_100_is_refused(editor):
    editor.replace("unicorns_shanghai", ",20.8,", ",120.8,")
    with pytest.raises(DataFileError, match="share.*between 0 and 100"):
        editor.package().load("unicorns_shanghai")


def test_rank_zero_is_refused(editor):
    editor.replace("gii_2023_top_clusters", "Shanghai–Suzhou,5", "Shanghai–Suzhou,0")
    with pytest.raises(DataFileError, match="gii_2023_top_clusters.csv, row 6"):
        editor.package().load("gii_2023_top_clusters")


def test_unknown_kind_is_refused(editor):
    editor.replace("patents", ",level,", ",amount,")
    with pytest.raises(DataFileError, match="'kind'.*not one of"):
        editor.package().load("patents")


def test_duplicate_key_is_refused(editor):
    text = (editor.folder / "patents.csv").read_text(encoding="utf-8")
    first_row = text.splitlines()[1]
    (editor.folder / "patents.csv").write_text(text + first_row + "\n", encoding="utf-8")
    editor.package().rehash()
    with pytest.raises(DataFileError, match="patents.csv, row \\d+.*(unique|repeats)"):
        editor.package().load("patents")


def test_wrong_header_is_refused(editor):
    editor.replace(
        "nsfc_projects_by_programme", "programme_zh,programme_en,projects", "programme_zh,programme,projects"
    )
    with pytest.raises(DataFileError, match="header .* does not match the schema"):
        editor.package().load("nsfc_projects_by_programme")


def test_ragged_row_is_refused(editor):
    editor.replace("patents", ",level,", ",level,,extra,")
    with pytest.raises(DataFileError, match=r"patents.csv, row \d+: \d+ cells, expected"):
        editor.package().load("patents")


def test_missing_required_value_is_refused(editor):
    editor.replace("nsfc_projects_by_programme", ",2171,", ",,")
    with pytest.raises(DataFileError, match="required but the cell is empty"):
        editor.package().load("nsfc_projects_by_programme")


def test_of_must_point_to_an_indicator_of_the_table(editor):
    editor.replace("tech_finance_indicators", "end-2023,tech_loan_balance\n", "end-2023,tech_loan_balanse\n")
    with pytest.raises(DataFileError, match="'of'.*tech_loan_balanse"):
        editor.package().load("tech_finance_indicators")


def test_edited_file_without_rehash_is_caught_by_its_sha256(editor):
    editor.replace("patents", ",6185,", ",6186,", rehash=False)
    with pytest.raises(DataFileError, match="patents.csv: content differs from the sha256"):
        editor.package().load("patents")


def test_missing_data_file(editor):
    (editor.folder / "patents.csv").unlink()
    with pytest.raises(DataFileError, match="patents.csv: data file not found"):
        editor.package().load("patents")


def test_missing_descriptor(tmp_path):
    with pytest.raises(DescriptorError, match="descriptor not found"):
        shdata.Package(tmp_path).ids()


def test_malformed_descriptor_json(data_copy):
    (data_copy / "datapackage.json").write_text('{"resources": [', encoding="utf-8")
    with pytest.raises(DescriptorError, match=r"malformed JSON at line 1, column \d+"):
        shdata.Package(data_copy).ids()


def test_descriptor_resource_without_required_metadata(editor):
    desc = editor.descriptor
    del editor.resource(desc, "patents")["section"]
    editor.save_descriptor(desc)
    with pytest.raises(DescriptorError, match="'patents' lacks section"):
        editor.package().ids()


def test_descriptor_without_resources(data_copy):
    (data_copy / "datapackage.json").write_text(json.dumps({"name": "x"}), encoding="utf-8")
    with pytest.raises(DescriptorError, match="'resources' list"):
        shdata.Package(data_copy).ids()


def test_module_api_follows_SHDATA_DATA_DIR(editor, use_data):
    editor.replace("patents", ",6185,", ",6186,")
    use_data(editor.folder)
    df = shdata.load("patents")
    assert 6186 in df["value"].tolist()
