"""Labels in Chinese and English: one small catalogue, a ``lang`` cookie, no framework.

``t("key")`` gives the label in the request's language: the ``lang`` cookie (set by
``/lang/<code>``), else the browser's Accept-Language, else ``DEFAULT_LANG``. A key missing
from the catalogue shows as itself, so a typo is visible rather than silent.

Enum values (tiers, verdicts, kinds) are translated with ``t_enum(value)``.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request

LANGS = ("zh", "en")

# key: (English, 中文)
MESSAGES: dict[str, tuple[str, str]] = {
    "app_title": ("Leased-line access inventory", "集团客户专线接入资源"),
    "nav_dashboard": ("Dashboard", "总览"),
    "nav_search": ("Search", "搜索"),
    "nav_audit": ("Audit", "稽核"),
    "nav_fault": ("Fault location", "故障定位"),
    "nav_import": ("Import", "导入"),
    "nav_plans": ("Plans", "规划"),
    "nav_api": ("API", "接口"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "signed_in_as": ("Signed in as", "当前用户"),
    "user_name": ("User name", "用户名"),
    "password": ("Password", "密码"),
    "bad_login": ("Wrong user name or password.", "用户名或密码错误。"),
    "login_locked": ("Too many failed attempts: try again in a few minutes.",
                     "失败次数过多，请几分钟后再试。"),
    "login_needed": ("Please sign in.", "请先登录。"),
    "forbidden": ("Your role does not allow this.", "您的角色无此权限。"),
    "role": ("Role", "角色"),
    "counts": ("Counts", "数量"),
    "compliance_per_tier": ("Compliance per tier", "各等级合规情况"),
    "worst_findings": ("Worst findings", "最严重的问题"),
    "network_map": ("Network map", "网络地图"),
    "search": ("Search", "搜索"),
    "search_hint": ("Customer, site, address, circuit number or element id",
                    "客户、站点、地址、电路编号或资源编码"),
    "results": ("Results", "结果"),
    "no_results": ("Nothing found.", "未找到。"),
    "kind": ("Kind", "类别"),
    "id": ("ID", "编码"),
    "name": ("Name", "名称"),
    "address": ("Address", "地址"),
    "customer": ("Customer", "客户"),
    "customers": ("Customers", "客户"),
    "site": ("Site", "站点"),
    "sites": ("Sites", "站点"),
    "circuit": ("Circuit", "电路"),
    "circuits": ("Circuits", "电路"),
    "tier": ("Tier", "服务等级"),
    "district": ("District", "区县"),
    "contact": ("Contact", "联系人"),
    "phone": ("Phone", "联系电话"),
    "account_manager": ("Account manager", "客户经理"),
    "industry": ("Industry", "行业"),
    "service_type": ("Service type", "业务类别"),
    "rate": ("Rate", "速率"),
    "protection": ("Protection", "保护方式"),
    "verdict": ("Verdict", "结论"),
    "requirement": ("Requirement", "要求"),
    "required": ("Required", "要求值"),
    "found": ("Found", "实际"),
    "failed_requirements": ("Failed requirements", "未满足的要求"),
    "tier_requires": ("What the tier requires", "等级要求"),
    "access_nodes": ("Access nodes", "接入节点"),
    "customer_devices": ("Customer-side devices", "客户侧设备"),
    "diverse_routes": ("Diverse routes", "物理分离路由"),
    "ring": ("Ring protection", "成环保护"),
    "monitored": ("Monitored", "可监控"),
    "routes": ("Routes", "路由"),
    "route": ("Route", "路由"),
    "route_diagram": ("Route diagram", "物理路由图"),
    "route_map": ("Route map", "路由地图"),
    "uplinks": ("Access nodes to aggregation (ring)", "接入节点至汇聚（成环）"),
    "spof": ("Single points of failure", "单点故障"),
    "shared_risks": ("Shared risks", "共享风险"),
    "none": ("None", "无"),
    "maintenance_point": ("Maintenance point", "维护点"),
    "distance": ("Distance", "距离"),
    "band": ("Distance band", "距离区间"),
    "sla": ("Service levels and due dates", "服务时限"),
    "from": ("From", "起点"),
    "to": ("To", "终点"),
    "cable": ("Cable", "光缆"),
    "cores": ("Cores used / fibers", "占用芯数/纤芯数"),
    "length": ("Length", "长度"),
    "laying": ("Laying", "敷设方式"),
    "duct": ("Duct", "管道"),
    "ducts": ("Ducts", "管道"),
    "maintainer": ("Maintained by", "维护方"),
    "group": ("group-customer maintenance", "集客维护"),
    "base": ("base-network maintenance", "基础网络维护"),
    "handover": ("Handover point", "维护界面分界点"),
    "download_geojson": ("GeoJSON", "GeoJSON"),
    "download_kml": ("KML", "KML"),
    "download_kml_gcj": ("KML (GCJ-02, Ovital)", "KML（GCJ-02，奥维）"),
    "print": ("Print", "打印"),
    "json": ("JSON", "JSON"),
    "element": ("Element", "资源"),
    "location": ("Location", "位置"),
    "located_at": ("Installed at", "安装位置"),
    "installed_here": ("Installed here", "安装的设备"),
    "runs_through": ("What runs through it", "经过的资源"),
    "cable_sections": ("Cable sections", "光缆段"),
    "connections": ("Connections", "连接"),
    "what_if": ("What if it fails", "故障影响"),
    "impact_down": ("Down (no route left)", "中断（无可用路由）"),
    "impact_degraded": ("Degraded (tier no longer met)", "降级（不再满足等级要求）"),
    "deadline": ("Recovery deadline", "恢复时限"),
    "properties": ("Properties", "属性"),
    "audit": ("Audit", "稽核"),
    "filter": ("Filter", "筛选"),
    "all": ("All", "全部"),
    "csv_export": ("CSV export", "导出 CSV"),
    "summary": ("Summary", "汇总"),
    "import": ("Import", "导入"),
    "import_hint": (("CSV files, an XLSX workbook or a ZIP of CSV files, as exported by the "
                     "resource platform."), "资源系统导出的 CSV 文件、XLSX 工作簿或 CSV 压缩包（ZIP）。"),
    "files": ("Files", "文件"),
    "crs": ("Coordinate system", "坐标系"),
    "crs_from_file": ("as in the files (坐标系 column) or WGS84",
                      "按文件（坐标系列），默认 WGS84"),
    "dry_run": ("Check (dry run)", "校验（不写入）"),
    "commit": ("Commit", "提交入库"),
    "dry_run_report": ("Dry-run report", "校验报告"),
    "commit_report": ("Import report", "导入报告"),
    "errors": ("Errors", "错误"),
    "no_errors": ("No errors.", "无错误。"),
    "file": ("File", "文件"),
    "row": ("Row", "行"),
    "column": ("Column", "列"),
    "value": ("Value", "值"),
    "message": ("Message", "说明"),
    "entity": ("Entity", "实体"),
    "created": ("Created", "新增"),
    "updated": ("Updated", "更新"),
    "unchanged": ("Unchanged", "未变"),
    "import_nothing_written": ("Nothing was written: correct the files and upload again.",
                               "未写入任何数据：请修改文件后重新上传。"),
    "import_ready": ("The check found no error. Commit to write it to the inventory.",
                     "校验通过，点击“提交入库”写入。"),
    "import_done": ("Imported.", "导入完成。"),
    "import_expired": ("The upload has expired or belongs to another session: upload again.",
                       "上传已过期或不属于当前会话，请重新上传。"),
    "no_files": ("Choose at least one file.", "请选择文件。"),
    "bad_file_type": ("Only .csv, .xlsx and .zip files are accepted.",
                      "只接受 .csv、.xlsx 和 .zip 文件。"),
    "too_large": ("The upload is too large", "上传文件过大"),
    "too_large_hint": ("The limit is {mb} MB. Split the export or zip it.",
                       "上限为 {mb} MB，请拆分或压缩后上传。"),
    "unavailable": ("The inventory is not available", "资源库暂不可用"),
    "unavailable_hint": ("The database cannot be reached. Try again in a moment.",
                         "无法连接数据库，请稍后再试。"),
    "not_found": ("Not found", "未找到"),
    "bad_request": ("Bad request", "请求有误"),
    "csrf_failed": ("The form has expired: reload the page and try again.",
                    "表单已过期，请刷新页面后重试。"),
    "server_error": ("Something went wrong", "出错了"),
    "back_home": ("Back to the dashboard", "返回总览"),
    "fault_form_hint": (("An OTDR reading: the cable, the end it was measured from and the "
                         "measured fiber distance."), "OTDR 测试结果：光缆、测试端和测得的光纤距离。"),
    "measured_from": ("Measured from (point, room or site id)", "测试端（设施编码）"),
    "measured_distance": ("Measured distance", "测得距离"),
    "slack": ("Slack factor", "余长系数"),
    "locate": ("Locate", "定位"),
    "fault_point": ("Fault point", "故障点"),
    "nearest_points": ("Nearest closures and manholes", "最近的接头盒和人井"),
    "affected_customers": ("Affected customers", "受影响客户"),
    "language": ("Language", "语言"),
    "computing": ("The audit of the whole network is being computed: reload in a minute.",
                  "全网稽核正在计算中，请稍后刷新。"),
    "on_route": ("On routes", "所在路由"),
    "shared": ("shared", "共享"),
    "total": ("Total", "合计"),
    "requested": ("Requested on", "申请日期"),
    "due": ("Due", "到期"),
    "plan": ("Plan", "规划方案"),
    "fault_report": ("Fault analysis report", "故障分析报告"),
    "validate": ("Validate", "校验"),
    "apply": ("Apply", "实施"),
    "plan_hint": (("A plan in the import format (CSV files, XLSX or ZIP) with an optional "
                   "removals.csv (entity,id). Validation changes nothing."),
                  "规划方案：与导入格式相同（CSV、XLSX 或 ZIP），可附 removals.csv（entity,id）。校验不会修改资源库。"),
    "accepted": ("accepted", "通过"),
    "rejected": ("rejected", "未通过"),
    "resources": ("Free cores on existing cable sections", "现有光缆段空闲纤芯"),
    "existing_changed": ("Existing sites the plan changes", "受规划影响的现有站点"),
    "findings": ("Findings", "发现的问题"),
    "applied": ("The plan was applied.", "规划已实施。"),
    "removed": ("Records removed", "删除记录数"),
    "page": ("Page", "页"),
    "next": ("Next", "下一页"),
    "previous": ("Previous", "上一页"),
    "of": ("of", "/"),
    "map_no_coordinates": ("No coordinates to draw.", "没有可绘制的坐标。"),
    "access_node": ("Access node", "接入节点"),
    "status": ("Status", "状态"),
    "type": ("Type", "类型"),
    "layer": ("Layer", "层级"),
    "vendor": ("Vendor", "厂家"),
    "model": ("Model", "型号"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
}

# Enum values shown to people: (English, 中文)
ENUMS: dict[str, tuple[str, str]] = {
    "GOLD": ("Gold", "金牌级"), "SILVER": ("Silver", "银牌级"), "BRONZE": ("Bronze", "铜牌级"),
    "STANDARD": ("Standard", "标准级"),
    "COMPLIANT": ("Compliant", "合规"), "NON_COMPLIANT": ("Non-compliant", "不合规"),
    "INCOMPLETE": ("Incomplete data", "数据不全"),
    "PASS": ("pass", "通过"), "FAIL": ("fail", "未通过"), "UNKNOWN": ("unknown", "未知"),
    "Customer": ("Customer", "客户"), "Site": ("Site", "站点"), "Room": ("Room", "机房"),
    "Equipment": ("Device", "设备"), "Point": ("Point", "设施点"), "Cable": ("Cable", "光缆"),
    "Duct": ("Duct", "管道段"), "MaintenancePoint": ("Maintenance point", "维护点"),
    "Circuit": ("Circuit", "电路"), "SEGMENT": ("Cable section", "光缆段"),
    "CABINET": ("Cabinet", "光交"), "FIBER_BOX": ("Fiber box", "分纤箱"),
    "CLOSURE": ("Splice closure", "接头盒"), "BRANCH_CLOSURE": ("Branching closure", "分歧接头盒"),
    "MANHOLE": ("Manhole", "人井"), "POLE": ("Pole", "电杆"), "ODF": ("ODF", "ODF"),
    "DUCT": ("duct", "管道"), "AERIAL": ("aerial", "架空"), "BURIED": ("buried", "直埋"),
    "WALL": ("wall", "墙壁"), "TRUNK": ("trunk", "主干"), "DISTRIBUTION": ("distribution", "配线"),
    "DROP": ("drop", "引入"), "CORE": ("core", "核心"), "AGGREGATION": ("aggregation", "汇聚"),
    "ACCESS": ("access", "接入"), "CUSTOMER": ("customer", "客户侧"),
    "BASE_STATION": ("base station", "基站"),
    "WITHIN": ("within 50 km", "50 km 以内"), "BEYOND": ("beyond 50 km", "50 km 以外"),
    "DOWN": ("down", "中断"), "DEGRADED": ("degraded", "降级"),
    "group": ("group-customer", "集客"), "base": ("base network", "基础网络"),
    "device": ("device", "设备"), "room": ("room", "机房"), "point": ("point", "设施点"),
    "site": ("site", "站点"), "section": ("cable section", "光缆段"),
}


def current_lang() -> str:
    if not has_request_context():
        return "en"
    cached = g.get("lang")
    if cached:
        return cached
    lang = request.cookies.get("lang")
    if lang not in LANGS:
        lang = request.accept_languages.best_match(LANGS) or current_app.config.get(
            "DEFAULT_LANG", "zh")
        if lang not in LANGS:
            lang = "zh"
    g.lang = lang
    return lang


def t(key: str, **values: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry[1] if current_lang() == "zh" else entry[0]
    return text.format(**values) if values else text


def t_enum(value: object) -> str:
    if value is None:
        return ""
    entry = ENUMS.get(str(value))
    if entry is None:
        return str(value)
    return entry[1] if current_lang() == "zh" else entry[0]


def fmt_km(value: object) -> str:
    return "" if value is None else f"{float(value):.1f} km"


def fmt_m(value: object) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value / 1000:.2f} km" if value >= 1000 else f"{value:.0f} m"
