"""Writes the broken-export corpus: tests/data/broken/<case>/ with an expected.json each.

Every case is imported on top of the clean fixture (tests/data/clean/), so it may refer to
ids stored from there (C-001, R-ACC-01, E-PTN-01, CB-T-01, D-01 …).  ``expected.json`` holds
the exact list of errors, {file, row, column, message} where ``message`` is a substring of
the importer's message, and optionally the warnings.  The expectations are written here by
hand, not recorded from the importer.  Run: python tests/data/make_broken.py
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "broken"

SITES_HEAD = "站点编码,客户编码,站点名称,服务等级,标准地址,经度,纬度\n"
EQUIP_HEAD = "id,name,type,layer,location_id,split_ratio,monitored\n"
SECT_HEAD = "光缆段编码,所属光缆,A端设施,Z端设施,纤芯数,占用芯数,长度(m),敷设方式,所在管道段,路由坐标\n"


def err(file, row, column, message):
    return {"file": file, "row": row, "column": column, "message": message}


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CASES: dict[str, tuple[dict[str, str | bytes], list[dict], list[dict]]] = {
    "unknown_enum": (
        {"sites.csv": SITES_HEAD + "S-101,C-001,州医院分院,钻石级,博乐市,82.07,44.90\n"},
        [err("sites.csv", 2, "服务等级", "unknown Tier '钻石级'; expected one of")], []),
    "bad_number": (
        {"光缆段.csv": SECT_HEAD + "SEC-101,CB-T-01,R-ACC-01,P-CAB-01,48,2,1.2km,管道,,\n"},
        [err("光缆段.csv", 2, "长度(m)", "not a number: '1.2km'")], []),
    "lat_lon_swapped": (
        {"sites.csv": SITES_HEAD + "S-101,C-001,州医院分院,,博乐市,44.9032,82.0721\n"},
        [err("sites.csv", 2, "经度", "swapped?")], []),
    "coordinates_out_of_range": (
        {"sites.csv": SITES_HEAD + "S-101,C-001,州医院分院,,博乐市,182.07,44.90\n"
                                   "S-102,C-001,州医院分院二,,博乐市,82.07,-44.90\n"},
        [err("sites.csv", 2, "经度", "longitude 182.07 is outside China"),
         err("sites.csv", 3, "经度", "latitude -44.9 is outside China")], []),
    "unknown_reference": (
        {"equipment.csv": EQUIP_HEAD + "E-101,分院ONU,ONU,CUSTOMER,R-999,,是\n"},
        [err("equipment.csv", 2, "location_id",
             "no Site / Room / Point 'R-999' in this import or in the store")], []),
    "duplicate_id_in_file": (
        {"sites.csv": SITES_HEAD + "S-101,C-001,分院一,,博乐市,82.07,44.90\n"
                                   "S-102,C-001,分院二,,博乐市,82.07,44.90\n"
                                   "S-101,C-001,分院三,,博乐市,82.07,44.90\n"},
        [err("sites.csv", 4, "站点编码", "id used twice: also sites.csv row 2")], []),
    "duplicate_id_across_files": (
        {"sites.csv": SITES_HEAD + "S-101,C-001,分院一,,博乐市,82.07,44.90\n",
         "站点.csv": SITES_HEAD + "S-101,C-002,一中分校,,博乐市,82.08,44.89\n"},
        [err("站点.csv", 2, "站点编码", "id used twice: also sites.csv row 2")], []),
    "missing_required_column": (
        {"equipment.csv": "id,name,layer,location_id\nE-101,分院ONU,CUSTOMER,S-001\n"},
        [err("equipment.csv", 1, "type", "missing column type (设备类型)")], []),
    "missing_column_ids_still_known": (
        {"equipment.csv": "id,name,layer,location_id\nE-101,分院ONU,CUSTOMER,S-001\n",
         "patches.csv": "id,a_id,z_id\nPA-101,E-101,E-PTN-01\n"},
        [err("equipment.csv", 1, "type", "missing column type (设备类型)")], []),
    "missing_required_value": (
        {"customers.csv": "客户编码,客户名称,服务等级\nC-101,,金牌\nC-102,博乐市财政局,\n"},
        [err("customers.csv", 2, "客户名称", "name is required"),
         err("customers.csv", 3, "服务等级", "tier is required")], []),
    "cores_used_over_fiber_count": (
        {"光缆段.csv": SECT_HEAD + "SEC-101,CB-T-01,R-ACC-01,P-CAB-01,12,24,100,管道,,\n"},
        [err("光缆段.csv", 2, "占用芯数", "24 cores used but the section has only 12")], []),
    "self_loop_section": (
        {"光缆段.csv": SECT_HEAD + "SEC-101,CB-T-01,P-CAB-01,P-CAB-01,12,2,100,管道,,\n"},
        [err("光缆段.csv", 2, "Z端设施", "cannot start and end at the same place")], []),
    "unknown_file_name": (
        {"sties.csv": SITES_HEAD + "S-101,C-001,分院,,博乐市,82.07,44.90\n",
         "equipment.csv": EQUIP_HEAD + "E-101,分院ONU,ONU,CUSTOMER,S-101,,是\n"},
        [err("equipment.csv", 2, "location_id", "no Site / Room / Point 'S-101'")],
        [err("sties.csv", None, None, "ignored: not a known file or sheet name")]),
    "empty_file": (
        {"sites.csv": "", "rooms.csv": "\n\n"},
        [err("rooms.csv", None, None, "the file is empty"),
         err("sites.csv", None, None, "the file is empty")], []),
    "bad_geometry": (
        {"光缆段.csv": SECT_HEAD + 'SEC-101,CB-T-01,R-ACC-01,P-CAB-01,12,2,100,管道,,'
                                   '"82.07,44.90;abc"\n'
                                   'SEC-102,CB-T-01,R-ACC-01,P-CAB-01,12,2,100,管道,,'
                                   '"LINESTRING (82.07 44.90)"\n'},
        [err("光缆段.csv", 2, "路由坐标", "bad route"),
         err("光缆段.csv", 3, "路由坐标", "bad route")], []),
    "geometry_outside_china": (
        {"ducts.csv": 'id,name,kind,geometry\nD-101,新管道,主干,"44.90,82.07;44.91,82.08"\n'},
        [err("ducts.csv", 2, "geometry", "swapped?")], []),
    "ambiguous_reference": (
        {"rooms.csv": "id,name,kind,lon,lat\nS-001,门诊楼弱电间,客户机房,82.0721,44.9032\n",
         "equipment.csv": EQUIP_HEAD + "E-101,门诊楼交换机,交换机,CUSTOMER,S-001,,是\n"},
        [err("equipment.csv", 2, "location_id", "write Site:S-001 or Room:S-001")], []),
    "wrong_label_prefix": (
        {"equipment.csv": EQUIP_HEAD + "E-101,分院ONU,ONU,CUSTOMER,Customer:C-001,,是\n"},
        [err("equipment.csv", 2, "location_id",
             "location_id must name a Site / Room / Point, not a Customer")], []),
    "nan_and_inf": (
        {"光缆段.csv": SECT_HEAD + "SEC-101,CB-T-01,R-ACC-01,P-CAB-01,inf,2,NaN,管道,,\n"},
        [err("光缆段.csv", 2, "纤芯数", "not a whole number: 'inf'"),
         err("光缆段.csv", 2, "长度(m)", "not a number: 'NaN'")], []),
    "enormous_cell": (
        {"customers.csv": "客户编码,客户名称,服务等级\nC-101," + "博" * 10_001 + ",金牌\n"},
        [err("customers.csv", 2, "客户名称", "cell is 10,001 characters long")], []),
    "undecodable_bytes": (
        {"sites.csv": SITES_HEAD.encode() + b"S-101,C-001,\x80\x80\xff\xfe\xff,,x,82.07,44.9\n"},
        [err("sites.csv", None, None, "neither UTF-8 nor GB18030")], []),
    "bad_yes_no": (
        {"equipment.csv": EQUIP_HEAD + "E-101,分院ONU,ONU,CUSTOMER,S-001,,也许\n"},
        [err("equipment.csv", 2, "monitored", "not a yes/no value")], []),
    "bad_split_ratio": (
        {"equipment.csv": EQUIP_HEAD + "E-101,二级分光器,分光器,ACCESS,P-FB-01,8,否\n"},
        [err("equipment.csv", 2, "split_ratio", "not a split ratio: '8'")], []),
    "unquoted_comma": (
        {"customers.csv": "客户编码,客户名称,服务等级,标准地址\n"
                          "C-101,博乐市财政局,铜牌,博乐市,北京路1号\n"},
        [err("customers.csv", 2, None, "5 cells but only 4 headers")], []),
    "two_columns_same_meaning": (
        {"sites.csv": "站点编码,客户编码,站点名称,name\nS-101,C-001,分院,分院\n"},
        [err("sites.csv", 1, "name", "two columns mean name: '站点名称' and 'name'")], []),
    "longitude_column_without_latitude": (
        {"rooms.csv": "机房编码,机房名称,机房类型,经度\nR-101,新机房,接入,82.07\n"},
        [err("rooms.csv", 1, "lat", "missing column lat (纬度)")], []),
    "longitude_without_latitude_value": (
        {"rooms.csv": "机房编码,机房名称,机房类型,经度,纬度\nR-101,新机房,接入,82.07,\n"},
        [err("rooms.csv", 2, "纬度", "longitude and latitude come together")], []),
    "unknown_crs": (
        {"rooms.csv": "机房编码,机房名称,机房类型,经度,纬度,坐标系\n"
                      "R-101,新机房,接入,82.07,44.90,北京54坐标\n"},
        [err("rooms.csv", 2, "坐标系", "unknown coordinate system")], []),
    "negative_length": (
        {"ducts.csv": "id,name,kind,length_m\nD-101,新管道,主干,-20\n"},
        [err("ducts.csv", 2, "length_m", "must not be negative")], []),
    "control_character": (
        {"customers.csv": "客户编码,客户名称,服务等级\nC-101,博乐\x07财政局,金牌\n"},
        [err("customers.csv", 2, "客户名称", "control character")], []),
    "unknown_duct_in_list": (
        {"光缆段.csv": SECT_HEAD + "SEC-101,CB-T-01,R-ACC-01,P-CAB-01,48,2,100,管道,"
                                   "D-01；D-404,\n"},
        [err("光缆段.csv", 2, "所在管道段", "no Duct 'D-404'")], []),
    "patch_to_itself": (
        {"patches.csv": "id,a_id,z_id\nPA-101,E-PTN-01,E-PTN-01\n"},
        [err("patches.csv", 2, "z_id", "a patch joins a device to itself")], []),
    "circuit_end_is_a_room": (
        {"circuits.csv": "电路编号,电路名称,客户编码,A端,Z端\n"
                         "CIR-101,测试电路,C-001,Room:R-ACC-01,E-PTN-01\n"},
        [err("circuits.csv", 2, "A端", "a_end must name a Site / Equipment, not a Room")], []),
    "many_problems_one_file": (
        {"sites.csv": SITES_HEAD + "S-101,C-999,分院一,,博乐市,82.07,44.90\n"
                                   ",C-001,分院二,金牌,博乐市,82.07,44.90\n"
                                   "S-103,C-001,分院三,黄金,博乐市,82.07,abc\n"},
        [err("sites.csv", 2, "客户编码", "no Customer 'C-999'"),
         err("sites.csv", 3, "站点编码", "id is required"),
         err("sites.csv", 4, "服务等级", "unknown Tier '黄金'"),
         err("sites.csv", 4, "纬度", "not a number: 'abc'")], []),
    "formula_without_value": (
        {"export.xlsx": _xlsx({"客户": [["客户编码", "客户名称", "服务等级"],
                                        ["C-101", '=HYPERLINK("http://crm/C-101","财政局")',
                                         "金牌"]]})},
        [err("export.xlsx:客户", 2, "客户名称", "a formula (=HYPERLINK")], []),
    "corrupt_xlsx": (
        {"export.xlsx": b"PK\x03\x04 this is not really a workbook"},
        [err("export.xlsx", None, None, "not a readable XLSX workbook")], []),
    "zip_with_bad_member": (
        {"export.zip": _zip({"customers.csv": "客户编码,客户名称,服务等级\nC-101,财政局,金\n"
                                              .encode("gb18030"),
                             "sites.csv": (SITES_HEAD + "S-101,C-101,财政局,,博乐市,82.07,"
                                           "95.1\n").encode("gb18030"),
                             "readme.txt": b"exported 2024-05-01"})},
        [err("export.zip:sites.csv", 2, "经度", "latitude 95.1 is outside China")],
        [err("export.zip:readme.txt", None, None, "ignored: not a CSV or XLSX file")]),
    "section_end_not_physical": (
        {"光缆段.csv": SECT_HEAD + "SEC-101,CB-T-01,C-001,P-CAB-01,48,2,100,管道,,\n"},
        [err("光缆段.csv", 2, "A端设施",
             "no Site / Room / Point / Equipment 'C-001' in this import or in the store")], []),
}


def main() -> None:
    if HERE.exists():
        shutil.rmtree(HERE)
    for name, (files, errors, warnings) in CASES.items():
        folder = HERE / name
        folder.mkdir(parents=True)
        for file_name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (folder / file_name).write_bytes(data)
        expected = {"errors": errors, "warnings": warnings}
        (folder / "expected.json").write_text(
            json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(CASES)} cases in {HERE}")


if __name__ == "__main__":
    main()
