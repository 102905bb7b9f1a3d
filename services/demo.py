"""Henan demo data for `flask seed-demo`: regions, stations, representatives, categories, units, accounts.

Everything is looked up by its natural key (region code, station name, category code,
unit region and name, username) and created only when missing, so a second run adds
nothing and never changes a station's printed code. The regions and their codes are
real (GB/T 2260; townships per GB/T 10114 as published by the statistics bureau); the
stations follow the Henan bulletins in shared/seeds/; every person is invented.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from extensions import db
from models import Category, DutySlot, Region, Representative, Station, Unit, User
from models.enums import PresencePolicy, RegionLevel, RepLevel, Role, StationCategory, StationKind, UnitKind
from services.codes import new_station_code

# Published on purpose: `make run` prints it next to the demo accounts.
DEMO_PASSWORD = "mashang-demo"  # noqa: S105

PROVINCE, CITY, COUNTY, TOWNSHIP = RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP

# (code, name, level, parent code), parents before children.
REGIONS: tuple[tuple[str, str, RegionLevel, str | None], ...] = (
    ("410000", "河南省", PROVINCE, None),
    ("410100", "郑州市", CITY, "410000"),
    ("410400", "平顶山市", CITY, "410000"),
    ("410500", "安阳市", CITY, "410000"),
    ("411100", "漯河市", CITY, "410000"),
    ("411600", "周口市", CITY, "410000"),
    ("411700", "驻马店市", CITY, "410000"),
    # 平顶山市
    ("410402", "新华区", COUNTY, "410400"),
    ("410421", "宝丰县", COUNTY, "410400"),
    ("410422", "叶县", COUNTY, "410400"),
    ("410425", "郏县", COUNTY, "410400"),
    ("410482", "汝州市", COUNTY, "410400"),
    # 安阳市
    ("410502", "文峰区", COUNTY, "410500"),
    ("410526", "滑县", COUNTY, "410500"),
    ("410581", "林州市", COUNTY, "410500"),
    # 漯河市
    ("411102", "源汇区", COUNTY, "411100"),
    ("411103", "郾城区", COUNTY, "411100"),
    ("411104", "召陵区", COUNTY, "411100"),
    ("411121", "舞阳县", COUNTY, "411100"),
    ("411122", "临颍县", COUNTY, "411100"),
    # 周口市 (淮阳 became a district in 2019: 411603, formerly 淮阳县 411626)
    ("411602", "川汇区", COUNTY, "411600"),
    ("411603", "淮阳区", COUNTY, "411600"),
    ("411621", "扶沟县", COUNTY, "411600"),
    ("411622", "西华县", COUNTY, "411600"),
    ("411623", "商水县", COUNTY, "411600"),
    ("411624", "沈丘县", COUNTY, "411600"),
    ("411625", "郸城县", COUNTY, "411600"),
    ("411627", "太康县", COUNTY, "411600"),
    ("411628", "鹿邑县", COUNTY, "411600"),
    ("411681", "项城市", COUNTY, "411600"),
    # 驻马店市
    ("411702", "驿城区", COUNTY, "411700"),
    ("411727", "汝南县", COUNTY, "411700"),
    ("411728", "遂平县", COUNTY, "411700"),
    # Townships and street offices that demo stations sit in.
    ("410402002", "光明路街道", TOWNSHIP, "410402"),
    ("410502005", "南关街道", TOWNSHIP, "410502"),
    ("411602002", "七一路街道", TOWNSHIP, "411602"),
    ("411621101", "崔桥镇", TOWNSHIP, "411621"),
    ("411622001", "娲城街道", TOWNSHIP, "411622"),
    ("411681001", "花园街道", TOWNSHIP, "411681"),
    ("411681100", "南顿镇", TOWNSHIP, "411681"),
    ("411702001", "人民街街道", TOWNSHIP, "411702"),
)

_REGION_NAMES = {code: name for code, name, _level, _parent in REGIONS}
_REGION_PARENTS = {code: parent for code, _name, _level, parent in REGIONS}

# (code, Chinese name, English name); the list order is the display order, 其他 last.
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("urban_rural", "城乡建设", "Housing, roads and public works"),
    ("transport", "交通出行", "Transport and getting around"),
    ("education", "教育", "Schools and education"),
    ("health", "医疗卫生", "Health care"),
    ("elderly_care", "养老服务", "Elderly care"),
    ("jobs", "就业创业", "Jobs and starting a business"),
    ("social_security", "社会保障", "Social security and assistance"),
    ("farming", "农业农村", "Farming and village life"),
    ("environment", "生态环境", "Environment"),
    ("governance", "社会治理", "Neighbourhood safety and disputes"),
    ("industry", "产业发展", "Local business and industry"),
    ("other", "其他", "Something else"),
)

GOV, SUPERVISION, COURT, PROCURATORATE = (
    UnitKind.GOVERNMENT,
    UnitKind.SUPERVISION,
    UnitKind.COURT,
    UnitKind.PROCURATORATE,
)

# 一府一委两院 of a prefecture-level city and of a county or district.
_CITY_UNITS: tuple[tuple[str, UnitKind], ...] = (
    ("住房和城乡建设局", GOV),
    ("交通运输局", GOV),
    ("教育局", GOV),
    ("卫生健康委员会", GOV),
    ("民政局", GOV),
    ("人力资源和社会保障局", GOV),
    ("生态环境局", GOV),
    ("农业农村局", GOV),
    ("市场监督管理局", GOV),
    ("城市管理局", GOV),
    ("监察委员会", SUPERVISION),
    ("中级人民法院", COURT),
    ("人民检察院", PROCURATORATE),
)
_COUNTY_UNITS: tuple[tuple[str, UnitKind], ...] = (
    ("住房和城乡建设局", GOV),
    ("交通运输局", GOV),
    ("教育局", GOV),
    ("卫生健康委员会", GOV),
    ("民政局", GOV),
    ("人力资源和社会保障局", GOV),
    ("农业农村局", GOV),
    ("市场监督管理局", GOV),
    ("城市管理局", GOV),
    ("监察委员会", SUPERVISION),
    ("人民法院", COURT),
    ("人民检察院", PROCURATORATE),
)
UNIT_CITIES = ("411600", "411100", "410400", "410500", "411700")
UNIT_COUNTIES = ("411681", "411627", "411621", "411625", "411603", "411622", "411602", "411104")


def _unit_seeds() -> tuple[tuple[str, str, UnitKind], ...]:
    """(region code, unit name, kind) for every demo handling unit."""
    seeds: list[tuple[str, str, UnitKind]] = []
    for code in UNIT_CITIES:
        city = _REGION_NAMES[code]
        seeds += [(code, city + suffix, kind) for suffix, kind in _CITY_UNITS]
    for code in UNIT_COUNTIES:
        name = _REGION_NAMES[code]
        city = _REGION_NAMES[_REGION_PARENTS[code] or ""]
        # A district's offices carry their city's name (周口市淮阳区…); a county's do not.
        prefix = city + name if name.endswith("区") else name
        seeds += [(code, prefix + suffix, kind) for suffix, kind in _COUNTY_UNITS]
        # Ecology is run from the city: a county has a branch of the city bureau.
        seeds.append((code, f"{city}生态环境局{name[:-1]}分局", GOV))
    return tuple(seeds)


UNITS = _unit_seeds()

# (text shown, opens at, closes at)
Hours = tuple[str, time, time]
WEEKDAYS: Hours = ("周一至周五 9:00–12:00，14:30–17:30", time(9, 0), time(17, 30))
WEEKDAYS_EARLY: Hours = ("周一至周五 8:30–12:00，14:30–18:00", time(8, 30), time(18, 0))
SIX_DAYS: Hours = ("周一至周六 8:30–12:00，15:00–18:00", time(8, 30), time(18, 0))
MARKET_DAYS: Hours = ("每周二、周五 7:30–11:30（赶集日）", time(7, 30), time(11, 30))
SATURDAYS: Hours = ("每周六 9:00–12:00，14:00–17:00；其他时间请电话预约", time(9, 0), time(17, 0))


@dataclass(frozen=True, slots=True)
class StationSeed:
    key: str  # only for references inside this module; the natural key in the database is the name
    name: str
    kind: StationKind
    category: StationCategory
    region_code: str
    address: str
    latitude: float
    longitude: float
    hours: Hours
    phone: str
    intro: str
    presence_policy: PresencePolicy = PresencePolicy.NONE
    parent: str | None = None


STATIONS: tuple[StationSeed, ...] = (
    StationSeed(
        key="xc_waterproof",
        name="项城市防水行业人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.INDUSTRY,
        region_code="411681",
        address="河南省项城市光武大道防水产业服务中心二楼",
        latitude=33.4436,
        longitude=114.8992,
        hours=WEEKDAYS,
        phone="0394-4321234",
        presence_policy=PresencePolicy.GEO,
        intro=(
            "工程防水是项城叫得响的传统劳务品牌，众多项城人在全国各地从事防水施工。联络站把代表联络站建在产业链上，"
            "将防水企业负责人、技术骨干和相关专业领域的各级人大代表混合编组进站开展活动，发挥代表职业特长和专业优势，"
            "倾听从业者和群众的意见建议，推动惠企纾困政策落到实处，努力做好民情的“集聚地”、发现问题的“诊疗所”、"
            "产业高质量发展的“加油站”。"
        ),
    ),
    StationSeed(
        key="tk_boiler",
        name="太康县锅炉制造人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.INDUSTRY,
        region_code="411627",
        address="河南省太康县产业集聚区锅炉产业园服务中心一楼",
        latitude=34.0581,
        longitude=114.8612,
        hours=WEEKDAYS_EARLY,
        phone="0394-6812345",
        intro=(
            "太康县依托装备制造特色产业，把联络站建在锅炉制造产业链上。锅炉企业负责人、一线技术人员和县乡人大代表"
            "混合编组进站，围绕技术改造、招工用工、安全生产和营商环境收集意见建议，帮助企业把难题反映上来、"
            "把政策落实下去。"
        ),
    ),
    StationSeed(
        key="fg_vegetable",
        name="扶沟县蔬菜种植产业代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.INDUSTRY,
        region_code="411621",
        address="河南省扶沟县城郊乡蔬菜产业园管理服务中心",
        latitude=34.0468,
        longitude=114.4021,
        hours=SIX_DAYS,
        phone="0394-7212345",
        intro=(
            "扶沟县依托蔬菜种植产业，强力打造“中原菜都”。联络站把种植大户、合作社带头人和农技人员代表编组进站，"
            "围绕设施农业、冷链物流、蔬菜销售和农民增收开展调研、收集民情农情，当好民情农情的“集聚地”。"
        ),
    ),
    StationSeed(
        key="dc_farming",
        name="郸城县特色种植养殖人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.INDUSTRY,
        region_code="411625",
        address="河南省郸城县洺北街道农业综合服务中心三楼",
        latitude=33.6501,
        longitude=115.1862,
        hours=WEEKDAYS,
        phone="0394-3212345",
        intro=(
            "郸城县组织代表依托站（联络站）产（特色产业）融合，助力农业强县建设。联络站聚焦特色种植、畜禽养殖和"
            "农产品加工，邀请种植户、养殖户和农技专家与代表面对面交流，把产业发展中遇到的难题带进站、"
            "把解决的办法送出去。"
        ),
    ),
    StationSeed(
        key="hy_beijing",
        name="淮阳区驻京人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.OUT_OF_TOWN,
        region_code="411603",
        address="北京市丰台区南四环西路 淮阳在京人员服务中心三层",
        latitude=39.8318,
        longitude=116.2889,
        hours=SATURDAYS,
        phone="010-63212345",
        intro=(
            "在北京、上海、西安等在外代表较多的城市，周口探索建立驻外人大代表联络站。淮阳区驻京人大代表联络站"
            "服务保障在京的淮阳籍各级人大代表履职，吸纳在外淮阳群众的民声民意，也为在京务工创业的老乡和"
            "家乡发展牵线搭桥。"
        ),
    ),
    StationSeed(
        key="lh_food",
        name="漯河经济技术开发区食品加工企业人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.ENTERPRISE,
        region_code="411104",
        address="河南省漯河市漯河经济技术开发区燕山路企业服务中心一楼",
        latitude=33.5432,
        longitude=114.0476,
        hours=WEEKDAYS_EARLY,
        phone="0395-5612345",
        intro=(
            "漯河按照以站为中心、点为延伸、岗为特色的思路，在开发区设立企业代表联络站。联络站面向食品加工企业和"
            "上下游配套企业的职工群众，由企业负责人代表、一线职工代表和开发区人大代表轮值接待，收集用工、物流、"
            "融资、环保等方面的诉求，推动问题在一线解决。"
        ),
    ),
    StationSeed(
        key="pds_guangming",
        name="平顶山市新华区光明路街道人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.COMMUNITY,
        region_code="410402002",
        address="河南省平顶山市新华区光明路街道党群服务中心一楼",
        latitude=33.7392,
        longitude=113.2875,
        hours=WEEKDAYS,
        phone="0375-2712345",
        intro=(
            "联络站设在街道党群服务中心内，与党群服务、便民服务一体运行。代表每周轮流进站，围绕老旧小区改造、"
            "养老服务和社区治理倾听群众意见，推动民生实事项目落地见效，党委中心工作在哪里，代表作用就发挥到哪里。"
        ),
    ),
    StationSeed(
        key="ay_nanguan",
        name="安阳市文峰区南关街道人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.COMMUNITY,
        region_code="410502005",
        address="河南省安阳市文峰区南关街道党群服务中心二楼",
        latitude=36.0893,
        longitude=114.3538,
        hours=WEEKDAYS_EARLY,
        phone="0372-5912345",
        presence_policy=PresencePolicy.KIOSK,
        intro=(
            "安阳推动代表联络站与党群服务中心深度融合，联动基层立法联系点，依托“码上见、码上办”平台畅通民意渠道。"
            "联络站推行领导干部代表和国家机关负责人进站联系群众，围绕老旧小区改造、教育医疗等民生难题现场办公、"
            "跟踪督办，推动办理从“重答复”向“重落实”转变。"
        ),
    ),
    StationSeed(
        key="ch_legislative",
        name="周口市川汇区七一路街道基层立法联系点",
        kind=StationKind.STATION,
        category=StationCategory.LEGISLATIVE,
        region_code="411602002",
        address="河南省周口市川汇区七一路街道党群服务中心三楼",
        latitude=33.6268,
        longitude=114.6455,
        hours=WEEKDAYS,
        phone="0394-8212345",
        intro=(
            "基层立法联系点把立法“直通车”开到群众家门口。联系点组织人大代表、法律工作者和居民群众对法律法规草案"
            "逐条讨论、提出意见，把原汁原味的基层声音反映给立法机关，也向群众宣讲新出台的法律法规。"
        ),
    ),
    StationSeed(
        key="zmd_renminjie",
        name="驻马店市驿城区人民街街道人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.COMMUNITY,
        region_code="411702001",
        address="河南省驻马店市驿城区人民街街道党群服务中心一楼",
        latitude=33.0114,
        longitude=114.0231,
        hours=WEEKDAYS,
        phone="0396-2812345",
        intro=(
            "联络站紧扣市委中心工作，组织五级人大代表定期进站接待群众，围绕背街小巷整治、托育养老、就业服务等"
            "身边事收集意见建议，以履职实效助力高效能治理、增进民生福祉。"
        ),
    ),
    StationSeed(
        key="xc_huayuan",
        name="项城市花园街道人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.COMMUNITY,
        region_code="411681001",
        address="河南省项城市花园街道党群服务中心一楼",
        latitude=33.4489,
        longitude=114.8868,
        hours=WEEKDAYS,
        phone="0394-4312345",
        intro=(
            "联络站设在街道党群服务中心，代表每周固定时间进站接待，群众扫码就能看到在站代表、随时反映问题。"
            "群众的意见建议按“六单制”闭环办理：群众点单、代表定单、人大派单、“一府一委两院”办单、代表督单、"
            "群众评单。"
        ),
    ),
    StationSeed(
        key="xc_nandun",
        name="项城市南顿镇人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.COMMUNITY,
        region_code="411681100",
        address="河南省项城市南顿镇便民服务中心东侧",
        latitude=33.5152,
        longitude=114.7905,
        hours=SIX_DAYS,
        phone="0394-4412345",
        intro=(
            "乡镇联络站面向农村群众，镇人大代表和驻镇的上级人大代表轮流值守，聚焦高标准农田建设、农村道路、"
            "农村养老和人居环境整治，帮助群众把急难愁盼的事办好。"
        ),
    ),
    StationSeed(
        key="xh_mediation",
        name="西华县娲城街道人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.COMMUNITY,
        region_code="411622001",
        address="河南省西华县娲城街道党群服务中心二楼",
        latitude=33.7862,
        longitude=114.5291,
        hours=WEEKDAYS,
        phone="0394-2512345",
        intro=(
            "西华县提出人大代表参与人民调解，让人大代表成为践行新时代“枫桥经验”的排头兵。联络站设代表调解室，"
            "代表与人民调解员、法律工作者一起化解邻里、婚姻家庭、土地流转等矛盾纠纷，做到小事不出村、"
            "矛盾不上交。"
        ),
    ),
    StationSeed(
        key="yx_salt",
        name="叶县盐化工产业人大代表联络站",
        kind=StationKind.STATION,
        category=StationCategory.INDUSTRY,
        region_code="410422",
        address="河南省平顶山市叶县盐化工产业园综合服务中心",
        latitude=33.6247,
        longitude=113.3618,
        hours=WEEKDAYS_EARLY,
        phone="0375-8012345",
        intro=(
            "平顶山按照“四必建”标准推动产业代表联络站扩面提标：特色产业园必建、产业链优势企业必建、"
            "知名专业合作社必建、集体经济好的乡村必建。联络站建在盐化工产业园，组织代表以“服务‘两城’建设，"
            "绿色低碳转型发展”为切入点开展专题调研和集中视察。"
        ),
    ),
    StationSeed(
        key="fg_cuiqiao",
        name="扶沟县崔桥镇蔬菜基地人大代表联络点",
        kind=StationKind.POINT,
        category=StationCategory.INDUSTRY,
        region_code="411621101",
        address="河南省扶沟县崔桥镇蔬菜种植基地服务站",
        latitude=34.1187,
        longitude=114.3312,
        hours=MARKET_DAYS,
        phone="0394-7312345",
        parent="fg_vegetable",
        intro=(
            "联络点设在蔬菜大棚集中的种植基地旁，是扶沟县蔬菜种植产业代表联络站的延伸。代表利用早市和农闲时间"
            "驻点，把种植户在品种、技术、销售方面的难题带回站里统一梳理、协调解决。"
        ),
    ),
    StationSeed(
        key="lh_service_post",
        name="漯河经济技术开发区政务服务中心人大代表工作岗",
        kind=StationKind.POST,
        category=StationCategory.ENTERPRISE,
        region_code="411104",
        address="河南省漯河市漯河经济技术开发区政务服务中心一楼大厅",
        latitude=33.5449,
        longitude=114.0452,
        hours=WEEKDAYS,
        phone="0395-5622345",
        parent="lh_food",
        intro=(
            "代表工作岗设在政务服务大厅，企业代表定期到岗，现场听取企业和群众办事中遇到的堵点难点，"
            "能当场协调的当场协调，不能当场解决的带回联络站按程序转办。"
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class RepSeed:
    username: str
    name: str
    level: RepLevel
    delegation: str
    occupation: str
    bio: str
    stations: tuple[str, ...]  # StationSeed keys


NATIONAL, PROVINCIAL, CITY_REP, COUNTY_REP, TOWNSHIP_REP = (
    RepLevel.NATIONAL,
    RepLevel.PROVINCIAL,
    RepLevel.CITY,
    RepLevel.COUNTY,
    RepLevel.TOWNSHIP,
)

# Invented people. Mobiles are given in list order from the unassigned 139 0000 xxxx range.
# One person per three lines: who, a short bio, the stations they belong to.
# fmt: off
REPRESENTATIVES: tuple[RepSeed, ...] = (
    # 项城市防水行业 / 花园街道 / 南顿镇
    RepSeed(
        "rep_wangjianjun", "王建军", PROVINCIAL, "周口代表团", "防水工程企业负责人",
        "从防水施工学徒干起，二十多年带出上千名项城防水工，关心外出务工人员的社保和工资保障。",
        ("xc_waterproof", "xc_huayuan"),
    ),
    RepSeed(
        "rep_liweidong", "李卫东", CITY_REP, "项城市代表团", "防水材料厂技术总监",
        "长期从事防水材料研发和质量检测，关注行业标准和安全生产。",
        ("xc_waterproof",),
    ),
    RepSeed(
        "rep_zhangxiuyun", "张秀云", COUNTY_REP, "花园街道代表团", "防水施工班组长",
        "带领家乡姐妹外出承接防水工程，热心为务工返乡人员介绍就业。",
        ("xc_waterproof", "xc_huayuan"),
    ),
    RepSeed(
        "rep_chenguoqing", "陈国庆", NATIONAL, "河南代表团", "建材企业党委书记",
        "多年关注建筑劳务品牌建设和农民工技能培训，定期回乡进站听取意见。",
        ("xc_waterproof",),
    ),
    RepSeed(
        "rep_liuguilan", "刘桂兰", COUNTY_REP, "花园街道代表团", "社区党支部书记",
        "在社区工作十五年，熟悉每一栋楼的老人和孩子，关注养老托幼和老旧小区改造。",
        ("xc_huayuan",),
    ),
    RepSeed(
        "rep_zhaoming", "赵明", CITY_REP, "项城市代表团", "律师",
        "执业十余年，常年为群众提供免费法律咨询，参与基层立法联系点的法规草案征求意见。",
        ("xc_huayuan", "ch_legislative"),
    ),
    RepSeed(
        "rep_sunzhiqiang", "孙志强", TOWNSHIP_REP, "南顿镇第二代表小组", "村党支部书记",
        "带领村民发展高标准农田和小麦良种繁育，关注村里道路和灌溉设施。",
        ("xc_nandun",),
    ),
    RepSeed(
        "rep_zhouyumei", "周玉梅", TOWNSHIP_REP, "南顿镇第一代表小组", "乡村医生",
        "在村卫生室工作二十年，关心留守老人的看病和慢性病管理。",
        ("xc_nandun",),
    ),
    RepSeed(
        "rep_wuhaifeng", "吴海峰", COUNTY_REP, "南顿镇代表团", "种粮大户",
        "流转土地种植小麦玉米，带动周边农户使用农机社会化服务。",
        ("xc_nandun",),
    ),
    # 太康县锅炉制造
    RepSeed(
        "rep_zhengyonggang", "郑永刚", PROVINCIAL, "周口代表团", "锅炉制造企业董事长",
        "深耕锅炉制造三十年，推动本地企业向节能环保锅炉转型。",
        ("tk_boiler",),
    ),
    RepSeed(
        "rep_fenglina", "冯丽娜", COUNTY_REP, "城关回族镇代表团", "锅炉厂技术员",
        "一线焊接检验技术员，关注职工技能培训和工伤保障。",
        ("tk_boiler",),
    ),
    RepSeed(
        "rep_mazhenhua", "马振华", CITY_REP, "太康县代表团", "焊接工艺工程师",
        "参与多项锅炉压力容器工艺改进，常为中小企业解决技术难题。",
        ("tk_boiler",),
    ),
    # 扶沟县蔬菜种植
    RepSeed(
        "rep_huangchunyan", "黄春燕", NATIONAL, "河南代表团", "蔬菜种植合作社理事长",
        "创办蔬菜种植合作社，带动数百户菜农发展设施农业，关注农产品冷链和销售渠道。",
        ("fg_vegetable", "fg_cuiqiao"),
    ),
    RepSeed(
        "rep_zhudesheng", "朱德胜", COUNTY_REP, "崔桥镇代表团", "蔬菜种植大户",
        "种了二十多年大棚菜，乐于把新品种、新技术教给乡亲们。",
        ("fg_vegetable", "fg_cuiqiao"),
    ),
    RepSeed(
        "rep_hujianshe", "胡建设", CITY_REP, "扶沟县代表团", "农技推广站站长",
        "常年在田间地头指导病虫害防治和测土配方施肥。",
        ("fg_vegetable",),
    ),
    RepSeed(
        "rep_hexiaoping", "何小平", TOWNSHIP_REP, "崔桥镇第三代表小组", "蔬菜经纪人",
        "帮菜农对接外地批发市场和商超，关注田间道路和冷库建设。",
        ("fg_cuiqiao",),
    ),
    # 郸城县特色种植养殖
    RepSeed(
        "rep_guohongmei", "郭红梅", CITY_REP, "郸城县代表团", "养殖场负责人",
        "经营生猪养殖场，推广粪污资源化利用，关注养殖贷款和防疫服务。",
        ("dc_farming",),
    ),
    RepSeed(
        "rep_linzhiyong", "林志勇", COUNTY_REP, "宁平镇代表团", "家庭农场主",
        "种植中药材和特色杂粮，探索订单农业带动农户增收。",
        ("dc_farming",),
    ),
    RepSeed(
        "rep_luoguizhi", "罗桂芝", TOWNSHIP_REP, "宜路镇第一代表小组", "村委会主任",
        "带领村集体发展特色种植，关心农村人居环境和留守儿童。",
        ("dc_farming",),
    ),
    # 淮阳区驻京
    RepSeed(
        "rep_gaojianhua", "高建华", CITY_REP, "淮阳区代表团", "在京物流企业负责人",
        "在北京创业二十年，热心帮助在京淮阳老乡解决就业、子女入学等难题。",
        ("hy_beijing",),
    ),
    RepSeed(
        "rep_xiewenjing", "谢文静", COUNTY_REP, "城关回族镇代表团", "在京餐饮企业经营者",
        "经营餐饮门店，吸纳不少家乡青年在京就业，关注务工人员权益保障。",
        ("hy_beijing",),
    ),
    RepSeed(
        "rep_songlixin", "宋立新", PROVINCIAL, "周口代表团", "在京建筑企业负责人",
        "长期在京从事建筑施工，牵线在外乡贤回乡投资兴业。",
        ("hy_beijing",),
    ),
    # 漯河经济技术开发区
    RepSeed(
        "rep_hanzhiguo", "韩志国", PROVINCIAL, "漯河代表团", "食品企业总经理",
        "从事肉制品和休闲食品加工多年，关注食品安全监管和企业用工。",
        ("lh_food", "lh_service_post"),
    ),
    RepSeed(
        "rep_tangxiaoyan", "唐晓燕", CITY_REP, "召陵区代表团", "食品车间主任",
        "一线车间管理者，关心职工通勤、子女托管和职业健康。",
        ("lh_food",),
    ),
    RepSeed(
        "rep_xudongsheng", "许东升", COUNTY_REP, "翟庄街道代表团", "冷链物流企业负责人",
        "为园区食品企业提供冷链配送，关注道路交通和物流用地。",
        ("lh_food", "lh_service_post"),
    ),
    # 平顶山
    RepSeed(
        "rep_caoshufen", "曹淑芬", CITY_REP, "新华区代表团", "社区居委会主任",
        "扎根社区工作多年，推动老旧小区加装电梯和社区食堂建设。",
        ("pds_guangming",),
    ),
    RepSeed(
        "rep_pengjianguo", "彭建国", COUNTY_REP, "光明路街道代表团", "退休教师",
        "退休后义务辅导社区孩子功课，关注中小学周边交通安全。",
        ("pds_guangming",),
    ),
    RepSeed(
        "rep_zenglihua", "曾丽华", COUNTY_REP, "光明路街道代表团", "社区卫生服务中心医生",
        "全科医生，带头开展家庭医生签约服务，关注老年人慢病管理。",
        ("pds_guangming",),
    ),
    RepSeed(
        "rep_tianzhenyu", "田振宇", PROVINCIAL, "平顶山代表团", "盐化工企业工程师",
        "从事盐化工工艺和节能改造，关注绿色低碳转型和安全生产。",
        ("yx_salt",),
    ),
    RepSeed(
        "rep_dongguiying", "董桂英", CITY_REP, "叶县代表团", "化工企业一线职工",
        "在生产一线工作近二十年，关心职工技能提升和劳动保护。",
        ("yx_salt",),
    ),
    RepSeed(
        "rep_yuandeming", "袁德明", CITY_REP, "叶县代表团", "企业安全环保部部长",
        "负责企业安全环保管理，推动园区危化品运输规范化。",
        ("yx_salt",),
    ),
    # 安阳
    RepSeed(
        "rep_panlixin", "潘立新", NATIONAL, "河南代表团", "中学教师",
        "从教三十年，关注义务教育均衡发展和青少年心理健康。",
        ("ay_nanguan",),
    ),
    RepSeed(
        "rep_yuxiuzhen", "于秀珍", CITY_REP, "文峰区代表团", "社区党委书记",
        "推动联络站与党群服务中心融合运行，关注老旧小区改造和网格化治理。",
        ("ay_nanguan",),
    ),
    RepSeed(
        "rep_jiangdawei", "蒋大伟", COUNTY_REP, "南关街道代表团", "社区医院医生",
        "长期为辖区老人上门随访，关注基层医疗和医保报销。",
        ("ay_nanguan",),
    ),
    RepSeed(
        "rep_caiwenhua", "蔡文华", COUNTY_REP, "南关街道代表团", "物业服务企业经理",
        "熟悉小区物业管理和业主委员会工作，热心调解邻里纠纷。",
        ("ay_nanguan",),
    ),
    # 周口川汇区基层立法联系点
    RepSeed(
        "rep_yuchangqing", "余长青", COUNTY_REP, "七一路街道代表团", "基层法律服务工作者",
        "多年从事基层法律服务，组织居民参与法规草案征求意见。",
        ("ch_legislative",),
    ),
    RepSeed(
        "rep_duhaibo", "杜海波", PROVINCIAL, "周口代表团", "高校法学教师",
        "研究地方立法和基层治理，带学生在联系点开展普法和调研。",
        ("ch_legislative",),
    ),
    # 驻马店
    RepSeed(
        "rep_yehongying", "叶红英", CITY_REP, "驿城区代表团", "幼儿园园长",
        "从事学前教育二十年，关注普惠托育和幼儿园周边安全。",
        ("zmd_renminjie",),
    ),
    RepSeed(
        "rep_chengjianshe", "程建设", COUNTY_REP, "人民街街道代表团", "个体工商户",
        "在老街经营五金店多年，关心背街小巷整治和小微商户经营。",
        ("zmd_renminjie",),
    ),
    RepSeed(
        "rep_weichunsheng", "魏春生", PROVINCIAL, "驻马店代表团", "面粉加工企业负责人",
        "经营面粉和面制品加工企业，关注粮食产业链和农民订单种植。",
        ("zmd_renminjie",),
    ),
    # 西华县
    RepSeed(
        "rep_suwenhua", "苏文华", COUNTY_REP, "娲城街道代表团", "人民调解员",
        "参与调解邻里和家庭纠纷数百起，是群众信得过的“贴心人”。",
        ("xh_mediation",),
    ),
    RepSeed(
        "rep_lvguilan", "吕桂兰", CITY_REP, "西华县代表团", "村党支部书记",
        "带领村里成立调解小组，推动矛盾纠纷就地化解。",
        ("xh_mediation",),
    ),
    RepSeed(
        "rep_dingweiguo", "丁卫国", COUNTY_REP, "娲城街道代表团", "律师",
        "定期在联络站坐班，为群众提供土地流转和婚姻家庭方面的法律咨询。",
        ("xh_mediation",),
    ),
)
# fmt: on


def _demo_mobile(index: int) -> str:
    return f"1390000{index + 1:04d}"


@dataclass(frozen=True, slots=True)
class StaffSeed:
    username: str
    role: Role
    name: str
    region_code: str | None = None
    unit: tuple[str, str] | None = None  # (region code, unit name)
    manages: tuple[str, ...] = ()  # StationSeed keys


STAFF: tuple[StaffSeed, ...] = (
    StaffSeed("admin", Role.ADMIN, "系统管理员"),
    StaffSeed("zk_staff", Role.CONGRESS_STAFF, "刘晓梅（周口市人大常委会代表工委）", region_code="411600"),
    StaffSeed("xc_staff", Role.CONGRESS_STAFF, "陈磊（项城市人大常委会代表工委）", region_code="411681"),
    StaffSeed("lh_staff", Role.CONGRESS_STAFF, "王静（漯河市人大常委会代表工委）", region_code="411100"),
    StaffSeed(
        "xc_manager", Role.STATION_MANAGER, "孟凡平（项城市联络站联络员）", manages=("xc_waterproof", "xc_huayuan")
    ),
    StaffSeed(
        "lh_manager", Role.STATION_MANAGER, "杨帆（漯河经开区联络站联络员）", manages=("lh_food", "lh_service_post")
    ),
    StaffSeed("ay_manager", Role.STATION_MANAGER, "李娜（安阳市南关街道联络站联络员）", manages=("ay_nanguan",)),
    StaffSeed(
        "xc_housing", Role.UNIT_HANDLER, "赵鹏（项城市住房和城乡建设局）", unit=("411681", "项城市住房和城乡建设局")
    ),
    StaffSeed("xc_court", Role.UNIT_HANDLER, "徐婷（项城市人民法院）", unit=("411681", "项城市人民法院")),
)

# Representatives worth signing in as: provincial, national and township, and one at a kiosk station.
_DEMO_REP_USERNAMES = ("rep_wangjianjun", "rep_huangchunyan", "rep_sunzhiqiang", "rep_yuxiuzhen")

DEMO_ACCOUNTS: list[tuple[str, str, str]] = [(s.username, s.role.value, s.name) for s in STAFF] + [
    (r.username, Role.REPRESENTATIVE.value, r.name) for r in REPRESENTATIVES if r.username in _DEMO_REP_USERNAMES
]


def seed_demo() -> dict[str, int]:
    """Load whatever of the demo data is missing into the session (flush only) and count what exists."""
    # Hashing is slow on purpose, so hash once per run and only if a user is actually created.
    password_hash = functools.cache(lambda: generate_password_hash(DEMO_PASSWORD))
    regions = _seed_regions()
    _seed_categories()
    units = _seed_units(regions)
    stations = _seed_stations(regions)
    _seed_representatives(stations, password_hash)
    _seed_staff(regions, units, stations, password_hash)
    _seed_roster(stations)
    db.session.flush()
    return _counts()


# Two half-day slots a working day: morning and afternoon, by turns among the station's
# representatives, so every station page shows who is on duty this week.
ROSTER_DAYS = 14
ROSTER_HOURS = ((time(9, 0), time(12, 0)), (time(14, 30), time(17, 30)))


def _seed_roster(stations: dict[str, Station]) -> None:
    """Roster slots from today for two weeks, for stations that have none from today on
    (so a second run, or a roster a manager already keeps, is left alone)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    # Some representatives serve at two stations: never give one two places at once.
    taken = set(
        db.session.execute(
            sa.select(DutySlot.representative_id, DutySlot.day, DutySlot.starts_at).where(DutySlot.day >= today)
        ).all()
    )
    for station in stations.values():
        reps = sorted(station.representatives, key=lambda r: r.id)
        if not reps or station.kind == StationKind.POST:
            continue
        if _first_slot_from(station, today) is not None:
            continue
        turn = 0
        for offset in range(ROSTER_DAYS):
            day = today + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for starts, ends in ROSTER_HOURS:
                free = [r for r in reps if (r.id, day, starts) not in taken]
                if not free:
                    continue
                rep = free[turn % len(free)]
                turn += 1
                taken.add((rep.id, day, starts))
                db.session.add(DutySlot(station=station, representative=rep, day=day, starts_at=starts, ends_at=ends))
    db.session.flush()


def _first_slot_from(station: Station, day) -> DutySlot | None:
    return db.session.scalar(sa.select(DutySlot).where(DutySlot.station_id == station.id, DutySlot.day >= day).limit(1))


M = TypeVar("M")


def _first(model: type[M], **natural_key) -> M | None:
    return db.session.scalar(sa.select(model).filter_by(**natural_key).limit(1))


def _add(obj: M) -> M:
    db.session.add(obj)
    return obj


def _seed_regions() -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for code, name, level, parent_code in REGIONS:
        regions[code] = _first(Region, code=code) or _add(
            Region(code=code, name=name, level=level, parent=regions[parent_code] if parent_code else None)
        )
    db.session.flush()
    return regions


def _seed_categories() -> None:
    for position, (code, name_zh, name_en) in enumerate(CATEGORIES, start=1):
        if _first(Category, code=code) is None:
            db.session.add(Category(code=code, name_zh=name_zh, name_en=name_en, sort_order=position * 10))


def _seed_units(regions: dict[str, Region]) -> dict[tuple[str, str], Unit]:
    units: dict[tuple[str, str], Unit] = {}
    for region_code, name, kind in UNITS:
        region = regions[region_code]
        units[region_code, name] = _first(Unit, region_id=region.id, name=name) or _add(
            Unit(name=name, kind=kind, region=region)
        )
    db.session.flush()
    return units


def _unused_station_code() -> str:
    while True:
        code = new_station_code()
        if db.session.scalar(sa.select(Station.id).where(Station.code == code)) is None:
            return code


def _seed_stations(regions: dict[str, Region]) -> dict[str, Station]:
    stations: dict[str, Station] = {}
    for seed in STATIONS:
        station = _first(Station, name=seed.name)
        if station is None:
            text, opens_at, closes_at = seed.hours
            station = _add(
                Station(
                    code=_unused_station_code(),
                    name=seed.name,
                    kind=seed.kind,
                    category=seed.category,
                    parent=stations[seed.parent] if seed.parent else None,
                    region=regions[seed.region_code],
                    address=seed.address,
                    latitude=seed.latitude,
                    longitude=seed.longitude,
                    opening_hours=text,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    phone=seed.phone,
                    intro=seed.intro,
                    presence_policy=seed.presence_policy,
                )
            )
            # Flushed one by one so that the next code is checked against this one.
            db.session.flush()
        stations[seed.key] = station
    return stations


def _mobile_if_free(mobile: str) -> str | None:
    taken = db.session.scalar(sa.select(User.id).where(User.mobile == mobile))
    return None if taken is not None else mobile


def _seed_representatives(stations: dict[str, Station], password_hash: Callable[[], str]) -> None:
    for index, seed in enumerate(REPRESENTATIVES):
        user = _first(User, username=seed.username) or _add(
            User(
                username=seed.username,
                mobile=_mobile_if_free(_demo_mobile(index)),
                display_name=seed.name,
                password_hash=password_hash(),
                role=Role.REPRESENTATIVE,
            )
        )
        rep = user.representative or _add(
            Representative(
                user=user, level=seed.level, delegation=seed.delegation, occupation=seed.occupation, bio=seed.bio
            )
        )
        for key in seed.stations:
            if stations[key] not in rep.stations:
                rep.stations.append(stations[key])
    db.session.flush()


def _seed_staff(
    regions: dict[str, Region],
    units: dict[tuple[str, str], Unit],
    stations: dict[str, Station],
    password_hash: Callable[[], str],
) -> None:
    for seed in STAFF:
        user = _first(User, username=seed.username) or _add(
            User(
                username=seed.username,
                display_name=seed.name,
                password_hash=password_hash(),
                role=seed.role,
                region=regions[seed.region_code] if seed.region_code else None,
                unit=units[seed.unit] if seed.unit else None,
            )
        )
        for key in seed.manages:
            if stations[key] not in user.managed_stations:
                user.managed_stations.append(stations[key])
    db.session.flush()


def _counts() -> dict[str, int]:
    def count(model) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0

    return {
        "regions": count(Region),
        "stations": count(Station),
        "representatives": count(Representative),
        "categories": count(Category),
        "units": count(Unit),
        "users": count(User),
    }
