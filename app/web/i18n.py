"""Labels in English and Chinese; language from ?lang=, then the lang cookie, then Accept-Language."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from app.web.i18n_lien_law import LIEN_LAW_LABELS, LIEN_LAW_VALUES_ZH

LANGS = ("en", "zh")
LANG_COOKIE = "mledger_lang"

LABELS: dict[str, tuple[str, str]] = {
    # key: (English, 中文)
    "app_title": ("Vehicle Mortgage Ledger", "机动车抵押登记账本"),
    "passport": ("Vehicle passport", "车辆电子护照"),
    "scan": ("Scan a code", "扫码查询"),
    "login": ("Log in", "登录"),
    "logout": ("Log out", "退出"),
    "username": ("User (name@MSP)", "用户 (名称@MSP)"),
    "password": ("Password", "密码"),
    "login_failed": ("Wrong username or password", "用户名或密码错误"),
    "login_oidc": ("Sign in with the bank's identity provider", "通过银行身份提供方登录"),
    "login_oidc_failed": ("Sign-on through the identity provider failed", "通过身份提供方登录失败"),
    "login_locked": (
        "Too many failed logins: this account or address is locked for a while. Try again later.",
        "登录失败次数过多：该账户或地址已被暂时锁定，请稍后再试。",
    ),
    "lender": ("Lender", "贷款行"),
    "auditor": ("Audit", "审计"),
    "regulator": ("Regulator", "监管"),
    "timeline": ("Timeline", "生命周期"),
    "vin": ("VIN", "车架号"),
    "plate": ("Plate", "号牌"),
    "make": ("Make", "品牌"),
    "model": ("Model", "车型"),
    "year": ("Year", "年款"),
    "status": ("Status", "状态"),
    "mortgaged": ("Mortgaged", "已抵押"),
    "not_mortgaged": ("Not mortgaged", "未抵押"),
    "liens": ("Liens", "抵押权"),
    "lien_count": ("recorded lien(s)", "项抵押登记"),
    "seizure": ("Seizure", "查封"),
    "seized": ("Seized", "已查封"),
    "not_seized": ("Not seized", "未查封"),
    "insurance": ("Insurance", "保险"),
    "insured_until": ("Insured until", "保险有效期至"),
    "not_insured": ("No valid insurance", "无有效保险"),
    "valuation": ("Latest valuation", "最新估值"),
    "valuation_band": ("Valuation band", "估值区间"),
    "no_valuation": ("No valuation", "暂无估值"),
    "stale": ("stale", "已过期"),
    "odometer": ("Odometer", "里程"),
    "priority": ("Priority", "顺位"),
    "holds": ("Holds", "限制"),
    "no_holds": ("No holds", "无限制"),
    "brands": ("Brands", "损毁标记"),
    "no_brands": ("No brands", "无损毁标记"),
    "odometer_check": ("Odometer record", "里程记录"),
    "odometer_anomaly": (
        "Anomaly: a lower reading was recorded (possible rollback)",
        "异常：曾记录较低读数（疑似调表）",
    ),
    "odometer_consistent": ("No anomaly recorded", "无异常记录"),
    "insurance_lapsed": ("Insurance lapsed", "保险已失效"),
    "insurance_expired": ("Insurance expired", "保险已到期"),
    "search_certificate": ("Search certificate", "抵押查询证明"),
    "certificate_explained": (
        "A signed statement of every lien, hold, brand and the odometer record as of a block, for dealers, "
        "banks and the owner (a buyer with the owner's consent).",
        "截至某区块的全部抵押、限制、损毁标记及里程记录的签名证明；经销商、银行和车主可申请（买方须车主同意）。",
    ),
    "request_certificate": ("Request a search certificate", "申请抵押查询证明"),
    "certificate_verified": ("Certificate recorded on the ledger", "证明已记录在账本上"),
    "certificate_not_verified": ("Certificate NOT verified", "证明未通过验证"),
    "as_of": ("As of", "数据时间"),
    "signature": ("Authority signature", "车管所签名"),
    "signature_ok": ("Genuine code, current", "真实有效的车辆码"),
    "signature_bad": ("Code NOT valid", "车辆码无效"),
    "signature_none": ("No code scanned: status read from the ledger", "未扫码：状态直接读自账本"),
    "current_code": ("Current code", "当前车辆码"),
    "no_personal": ("No personal data is shown on this page.", "本页不显示任何个人信息。"),
    "scan_camera": ("Scan with the camera", "用摄像头扫码"),
    "scan_upload": ("Or upload a photo of the code", "或上传车辆码照片"),
    "scan_submit": ("Check the photo", "识别照片"),
    "camera_unavailable": (
        "This browser cannot read codes from the camera; upload a photo instead.",
        "此浏览器不支持摄像头扫码，请上传照片。",
    ),
    "event": ("Event", "事件"),
    "tx_id": ("Transaction", "交易号"),
    "block": ("Block", "区块"),
    "org": ("Org", "机构"),
    "time": ("Time", "时间"),
    "details": ("Details", "详情"),
    "documents": ("Documents", "文件"),
    "verified": ("verified", "已核验"),
    "not_verified": ("NOT verified", "核验失败"),
    "my_liens": ("Our liens", "本行抵押权"),
    "lien_id": ("Lien", "抵押编号"),
    "secured": ("Secured amount", "担保金额"),
    "ltv": ("LTV", "抵押率"),
    "interval": ("Interval", "区间"),
    "alerts": ("Alerts", "预警"),
    "no_alerts": ("No alerts", "无预警"),
    "actions": ("Actions", "操作"),
    "release": ("Release (paid)", "解押（已还清）"),
    "report_balance": ("Report balance", "报送贷款余额"),
    "outstanding": ("outstanding", "未还余额"),
    "consent_sale": ("Consent to sale by lien", "同意该抵押权人处置"),
    "below_reserve": ("also below reserve", "含低于保留价"),
    "request_lien": ("Request a lien", "申请抵押登记"),
    "loan_number": ("Loan number", "贷款编号"),
    "contract_number": ("Mortgage contract number", "抵押合同编号"),
    "currency": ("Currency", "币种"),
    "maturity": ("Maturity date", "到期日"),
    "consent_doc": ("Owner consent document id", "车主同意书文件编号"),
    "consent_file": ("or upload the owner's consent", "或上传车主同意书"),
    "submit": ("Submit", "提交"),
    "done": ("Done", "已完成"),
    "refused": ("Refused", "被拒绝"),
    "search": ("Search", "查询"),
    "search_hint": (
        "VIN, plate, lien id, transaction id or owner hash",
        "车架号、号牌、抵押编号、交易号或车主哈希",
    ),
    "export_csv": ("Export CSV", "导出 CSV"),
    "results": ("Results", "结果"),
    "no_results": ("Nothing found", "未找到记录"),
    "as_of_block": ("As of ledger block height", "数据截至账本区块高度"),
    "next_page": ("Next page", "下一页"),
    "date_from": ("From (date)", "起始日期"),
    "date_to": ("To (date)", "截止日期"),
    "of_total": ("of", "共"),
    "key": ("Record", "记录"),
    "counts_by_status": ("Vehicles by status", "各状态车辆数"),
    "liens_over_time": ("Liens recorded / released by month", "每月抵押登记 / 解押"),
    "recorded": ("recorded", "登记"),
    "released": ("released", "解押"),
    "ltv_distribution": ("LTV distribution (encumbered vehicles)", "抵押率分布（已抵押车辆）"),
    "alerts_by_severity": ("Alerts on the ledger by severity", "链上预警按级别统计"),
    "alerts_unacknowledged": ("unacknowledged", "未确认"),
    "read_only_note": (
        "Read-only view: the regulator writes nothing.",
        "只读视图：监管机构不进行任何写操作。",
    ),
    "language": ("中文", "English"),
    "forbidden": ("Not allowed", "无权访问"),
    "not_found": ("Not found", "未找到"),
    "error": ("Error", "错误"),
    "home": ("Home", "首页"),
    "open_passport": ("Open passport", "查看护照"),
    "history_note": (
        "Every committed transaction about this vehicle and its liens, oldest first.",
        "该车辆及其抵押权的全部已提交交易，按时间顺序。",
    ),
    "logged_in_as": ("Logged in as", "当前用户"),
    "severity": ("Severity", "级别"),
    "count": ("Count", "数量"),
    "distribution": ("Proceeds by priority", "按顺位分配"),
    "paid": ("paid", "受偿"),
    "shortfall": ("shortfall", "差额"),
    # floor-plan finance (issue 19)
    "floor_plan": ("Floor plan", "库存融资"),
    "my_lines": ("My credit lines", "我的授信额度"),
    "financed_stock": ("Financed stock", "融资库存车辆"),
    "curtailments_due": ("Curtailments due", "应还减额款"),
    "portfolio": ("Floor-plan portfolio", "库存融资组合"),
    "exposure_per_dealer": ("Exposure per dealer", "各经销商敞口"),
    "floor_check": ("Floor check", "库存盘点"),
    "open_floor_check": ("Open a floor check", "发起盘点"),
    "scan_car": ("Scan a car's QR code", "扫描车辆二维码"),
    "close_check": ("Close the check", "结束盘点"),
    "not_seen": ("Financed, not seen", "已融资未见车辆"),
    "seen": ("Seen", "已见"),
    "limit": ("Limit", "额度"),
    "available": ("Available", "可用额度"),
    "utilisation": ("Utilisation", "使用率"),
    "totals": ("Floor-plan totals", "库存融资汇总"),
    "place": ("Place", "位置"),
    "advance": ("Advance", "垫款"),
    "days_in_stock": ("Days in stock", "在库天数"),
    "due_now": ("Due now", "当前应还"),
    "next_due": ("Next due", "下次到期"),
    "line": ("Line", "额度编号"),
    "location": ("Location", "地点"),
    # the owner's own pages (issue 16)
    "owner": ("Owner", "车主"),
    "owner_signin": ("Owner sign-in", "车主登录"),
    "owner_signin_how": (
        "Sign in with the key file of your enrolment: this page signs a one-time challenge on your device; "
        "the key is never sent.",
        "使用您登记时的密钥文件登录：本页在您的设备上对一次性挑战签名，密钥不会发送。",
    ),
    "owner_account": ("Owner account", "车主账户"),
    "owner_key": ("Your enrolment key (PKCS#8 PEM file)", "您的登记密钥（PKCS#8 PEM 文件）"),
    "key_missing": ("choose your key file", "请选择密钥文件"),
    "key_format": ("the key file must be PKCS#8 PEM", "密钥文件须为 PKCS#8 PEM 格式"),
    "not_signed_in": ("Not signed in", "未登录"),
    "owner_home": ("My vehicles and consents", "我的车辆与授权"),
    "my_vehicles": ("My vehicles", "我的车辆"),
    "no_vehicles": ("No vehicle is registered to you.", "名下暂无车辆。"),
    "lienholder": ("Lienholder", "抵押权人"),
    "no_liens": ("No liens", "无抵押"),
    "consents_waiting": ("Consents waiting for me", "待我签署的授权"),
    "none_waiting": ("Nothing waits for your signature.", "暂无待签署的授权。"),
    "consents_given": ("Consents I gave", "我已签署的授权"),
    "none_given": ("None yet.", "暂无。"),
    "consent": ("Consent", "授权"),
    "kind": ("Kind", "类型"),
    "grantee": ("To", "授权对象"),
    "expires": ("Expires", "有效期至"),
    "signed_at": ("Signed", "签署时间"),
    "review_and_sign": ("Review and sign", "查看并签署"),
    "my_notifications": ("My notifications", "我的通知"),
    "no_notifications": ("No notifications.", "暂无通知。"),
    "my_personal_data": ("My personal data", "我的个人信息"),
    "personal_note": ("Shown to you only.", "仅向您本人显示。"),
    "name": ("Name", "姓名"),
    "id_number": ("ID number", "证件号码"),
    "phone": ("Phone", "电话"),
    "address": ("Address", "地址"),
    "owner_since": ("Owner since", "登记时间"),
    "sign_consent": ("Sign a consent", "签署授权"),
    "key_stays": (
        "Your key stays on this device: the page reads it to sign and sends nothing.",
        "您的密钥保留在本设备上：页面仅读取它用于签名，不会发送。",
    ),
    "consent_to_sign": ("Consent to sign (as given to you)", "待签署的授权（原文）"),
    "sign_terms": ("Sign these terms", "签署以上条款"),
    "not_signed": ("Not signed", "未签署"),
    "your_signature": ("Your signature (give it to the party that asked)", "您的签名（交给提出请求的一方）"),
    "send_signature": ("Send my signature to the ledger", "将签名提交到账本"),
    "consent_signed": ("Consent signed", "授权已签署"),
}

SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "严重"}

# Ledger values (statuses, event names) shown in Chinese; the English page shows them as stored.
VALUE_ZH: dict[str, str] = {
    "REGISTERED": "已登记", "MORTGAGED": "已抵押", "SEIZED": "已查封", "IN_DISPOSAL": "处置中",
    "DISPOSED": "已处置", "SCRAPPED": "已报废", "REQUESTED": "已申请", "RECORDED": "已登记",
    "REJECTED": "已驳回", "RELEASED": "已解押", "ASSIGNMENT_PENDING": "转让待确认", "FORECLOSING": "止赎中",
    "DISCHARGED": "已清偿", "VALID": "有效",
    "VehicleRegistered": "车辆登记", "LienRequested": "抵押申请", "LienRecorded": "抵押登记",
    "LienRejected": "抵押驳回", "LienReleased": "解除抵押", "LienAssignmentProposed": "抵押权转让提议",
    "LienAssigned": "抵押权转让", "TitleTransferred": "所有权转移", "VehicleSeized": "车辆查封",
    "SeizureLifted": "解除查封", "VehicleScrapped": "车辆报废", "ForeclosureStarted": "启动止赎",
    "DisposalCompleted": "处置完成", "InsurancePolicyRecorded": "保单登记", "InsuranceLapsed": "保单失效",
    "InsuranceClaimFiled": "保险理赔", "MaintenanceRecorded": "维修保养记录", "OdometerRecorded": "里程记录",
    "OdometerAnomaly": "里程异常", "ValuationRecorded": "估值记录", "DocumentAnchored": "文件存证",
    "QrIdentityIssued": "车辆码签发", "ConfigChanged": "参数变更",
    "SIGNED": "已签署", "USED": "已使用", "EXPIRED": "已过期", "OwnerConsentRequested": "授权请求",
    "OwnerConsentSigned": "授权已签署", "lien_request": "抵押登记授权", "amount_increase": "增加担保金额授权",
    "transfer": "过户授权", "payoff_quote_release": "结清报价授权", "certificate_release": "查询证明授权",
}  # fmt: skip
LABELS.update(LIEN_LAW_LABELS)
VALUE_ZH.update(LIEN_LAW_VALUES_ZH)


def value_labeller(lang: str) -> Callable[[object], str]:
    if lang != "zh":
        return lambda value: str(value)
    return lambda value: VALUE_ZH.get(str(value), str(value))


def pick_lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def translator(lang: str) -> Callable[[str], str]:
    index = 1 if lang == "zh" else 0

    def t(key: str) -> str:
        pair = LABELS.get(key)
        return pair[index] if pair else key

    return t


# The lender page's projected-LTV chart (kept apart from LABELS above so page changes merge cleanly).
LABELS.update({
    "projected_ltv": ("Projected LTV", "预计抵押率"),
    "show_projection": ("projection", "预测"),
    "ltv_band": ("interval band", "区间带"),
    "ltv_threshold": ("warning threshold", "预警阈值"),
    "ltv_breach": ("first breach (month)", "首次突破（月）"),
    "no_breach": ("no breach over the remaining term", "剩余期限内未突破阈值"),
    "months": ("months", "个月"),
    "months_ahead": ("months ahead", "未来月数"),
    "proj_month": ("Month", "月"),
    "proj_date": ("Date", "日期"),
    "ltv_optimistic": ("LTV (high value)", "抵押率（估值上限）"),
    "ltv_pessimistic": ("LTV (low value)", "抵押率（估值下限）"),
    "proj_balance": ("Balance used", "所用贷款余额"),
    "proj_model": ("Valuation model", "估值模型"),
    "proj_none": ("No projection", "无法预测"),
    "proj_table": ("The figures as a table", "数据表"),
    "proj_rate_note": (
        "The lien records no interest rate: the balance is paid down evenly to maturity.",
        "抵押登记未记载利率：按到期日等额还本计算余额。",
    ),
})  # fmt: skip
