"""Henan demo data for `flask seed-demo`: regions, stations, representatives, categories, units,
accounts, two weeks of roster and about forty concerns at every step of the loop.

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
from flask import current_app
from werkzeug.security import generate_password_hash

from extensions import db
from models import Category, Concern, DutySlot, Outbox, Region, Representative, Station, Unit, User, utcnow
from models.enums import (
    ConcernSource,
    PresencePolicy,
    Rating,
    RegionLevel,
    RepLevel,
    Role,
    StationCategory,
    StationKind,
    UnitKind,
)
from services import concern_flow
from services.clock import LOCAL_TZ, to_local, to_utc
from services.codes import new_station_code
from services.concerns import ConcernInput, find_by_submission_key, submit_concern
from services.storage import LocalStorage

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
    _seed_concerns(stations, units)
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
        "concerns": count(Concern),
    }


# --- Concerns: the closed loop at work ---------------------------------------------------
#
# About forty concerns over the last six weeks, in every status, each driven through
# services.concern_flow with the time it happened, so every one has an unbroken trail.
# The submission key "demo-<key>" is the natural key: a second run finds them and adds
# nothing. Contents follow the themes of the seed bulletins; the people are invented.


@dataclass(frozen=True, slots=True)
class Step:
    action: str  # a transition, or "rate", "note" (internal) and "comment" (to the resident)
    when: str  # "<days ago> <HH:MM>", local time
    by: str | None = None  # username; "unit": the unit's handler; None: the resident or the system
    note: str = ""
    rep: str | None = None  # accept: the representative (username)
    unit: str | None = None  # dispatch: the unit's name without its region, e.g. 住房和城乡建设局
    due_days: int | None = None  # dispatch: a deadline chosen by staff, calendar days later
    ratings: tuple[Rating, Rating] | None = None  # rate: the unit's, the representative's
    into: str | None = None  # merge: the other concern's key


@dataclass(frozen=True, slots=True)
class ConcernSeed:
    key: str
    station: str  # StationSeed key
    category: str  # category code
    filed: str  # like Step.when
    content: str
    steps: tuple[Step, ...] = ()
    contact: tuple[str, str] | None = None  # (name, mobile): given with consent
    anonymous: bool = False
    public: bool = False
    source: ConcernSource = ConcernSource.QR


def _accept(when: str, rep: str, by: str | None = None) -> Step:
    return Step("accept", when, by or rep, rep=rep)


def _dispatch(when: str, by: str, unit: str, due_days: int | None = None, note: str = "") -> Step:
    return Step("dispatch", when, by, note=note, unit=unit, due_days=due_days)


def _reply(when: str, note: str) -> Step:
    return Step("reply", when, "unit", note)


def _rate(when: str, unit: Rating, rep: Rating, comment: str = "") -> Step:
    return Step("rate", when, None, comment, ratings=(unit, rep))


SAT, BASIC, DISSAT = Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED

# fmt: off
CONCERNS: tuple[ConcernSeed, ...] = (
    # 项城市: the unit handler accounts (住建局 xc_housing, 法院 xc_court) have work waiting.
    ConcernSeed(
        "xc-waterlogging", "xc_huayuan", "urban_rural", "9 08:40",
        "花园街道建设路东段的老小区，一下大雨楼前就积水，最深的地方没过脚脖子，老人孩子出门要蹚水。"
        "雨水管网好像是堵了，希望有关部门来看看，汛期前能疏通改造。",
        (
            _accept("9 10:15", "rep_wangjianjun"),
            Step("note", "9 10:30", "rep_wangjianjun", "已到现场查看，积水约20厘米，涉及3栋楼，需住建部门改造管网。"),
            _dispatch("8 15:20", "xc_staff", "住房和城乡建设局",
                      note="请结合老旧小区改造计划一并研究，汛期前给群众答复。"),
        ),
        contact=("刘秀兰", "13812340001"),
    ),
    ConcernSeed(
        "xc-elevator", "xc_huayuan", "urban_rural", "6 09:10",
        "我们单元住了好几户七八十岁的老人，住五楼六楼，上下楼太难了。听说老旧小区可以加装电梯，"
        "不知道怎么申请、政府补贴多少，能不能派人给居民讲一讲政策？",
        (
            _accept("6 11:00", "rep_liuguilan"),
            _dispatch("5 16:40", "xc_staff", "住房和城乡建设局"),
        ),
        contact=("赵先生", "13812340002"),
    ),
    ConcernSeed(
        "xc-wages-lawsuit", "xc_waterproof", "jobs", "4 19:30",
        "我们十几个项城老乡在外地一个工地干防水，干完活包工头一直拖着不给工钱，快一年了，一共二十多万。"
        "想去法院起诉，但不懂怎么立案、要准备什么材料，希望能得到帮助。",
        (
            _accept("3 09:20", "rep_wangjianjun"),
            _dispatch("2 10:05", "xc_staff", "人民法院", note="请法院提供诉讼指导，开通农民工讨薪立案绿色通道。"),
        ),
        contact=("张建设", "13812340003"),
    ),
    ConcernSeed(
        "xc-land-dispute", "xc_nandun", "governance", "24 10:20",
        "我家承包地流转给合作社种了三年，今年合作社说效益不好，流转费一直没给，合同上写的每年十月底付清。"
        "村里调解了两次没结果，希望能依法解决。",
        (
            _accept("23 09:00", "rep_wuhaifeng"),
            _dispatch("22 14:30", "xc_staff", "人民法院", due_days=10, note="请先行诉前调解，调解不成及时立案。"),
        ),
        contact=("孙德旺", "13812340004"),
    ),
    ConcernSeed(
        "xc-old-pipes", "xc_huayuan", "urban_rural", "21 15:45",
        "花园街道南关小区的自来水管道老化，这个月已经爆了两次管，一停水就是一整天。"
        "希望能把小区的供水管网整体换一换。",
        (
            _accept("20 10:10", "rep_zhangxiuyun"),
            _dispatch("19 09:30", "xc_staff", "住房和城乡建设局", due_days=10),
        ),
    ),
    ConcernSeed(
        "xc-canteen", "xc_huayuan", "elderly_care", "1 09:35",
        "社区里独居老人不少，中午做饭不方便。能不能像别的地方一样办个老年助餐点，价格实惠一点，"
        "行动不便的还能送餐上门？",
        contact=("李女士", "13812340005"),
    ),
    ConcernSeed(
        "xc-social-insurance", "xc_waterproof", "social_security", "0 08:05",
        "常年在外地干防水的工人，社保在外地交了几年又回项城交，转移接续手续很麻烦，"
        "来回跑了好几趟还没办成，希望能在家门口办或者网上办。",
    ),
    ConcernSeed(
        "xc-bus", "xc_nandun", "transport", "2 16:20",
        "南顿镇到项城市区的公交车一天就几班，下午四点以后就没车了，学生放假回家、老人去市里看病都不方便，"
        "希望能增加班次。",
        public=True,
    ),
    ConcernSeed(
        "xc-irrigation", "xc_nandun", "farming", "7 11:40",
        "村东头的机井坏了快一个月了，眼看要浇返青水，几十亩麦子等着用水，找了几次没人来修。",
        contact=("周老汉", "13812340006"),
        source=ConcernSource.WALK_IN,
    ),
    ConcernSeed(
        "xc-clinic", "xc_nandun", "health", "12 10:00",
        "村卫生室只有一个医生，常用的降压药、降糖药经常缺货，留守老人只能跑到镇上去拿药。"
        "希望卫生室的药能配齐一些。",
        (
            _accept("11 09:30", "rep_sunzhiqiang"),
            _dispatch("10 15:00", "xc_staff", "卫生健康委员会"),
            _reply("2 10:40", "已协调镇卫生院按月向村卫生室配送常用慢病药品，并将该村纳入家庭医生签约随访重点。"),
        ),
    ),
    ConcernSeed(
        "xc-school-route", "xc_huayuan", "education", "16 07:50",
        "花园街道实验小学门口早上送孩子的车特别多，路窄，天天堵，孩子们在车缝里穿来穿去很危险，"
        "希望能设置接送车位或者安排人员疏导。",
        (
            _accept("15 09:00", "rep_wangjianjun"),
            _dispatch("14 11:20", "xc_staff", "教育局"),
            _reply("1 16:30", "已会同交警部门在校门口设置临时停车接送区，上下学时段安排护学岗和交警疏导。"),
        ),
        contact=("陈女士", "13812340007"),
        public=True,
    ),
    ConcernSeed(
        "xc-waterproof-standard", "xc_waterproof", "industry", "5 14:10",
        "我们几家防水材料小厂反映：市场上一些劣质防水卷材低价竞争，质量不合格却中标，"
        "希望加强产品质量抽检，维护项城防水的牌子。",
        (
            _accept("5 16:00", "rep_liweidong"),
            Step("resolve", "3 10:00", "rep_liweidong",
                 "已邀请市场监管部门到联络站座谈，明确下季度开展防水材料专项抽检，并将结果向企业公开。"),
        ),
        source=ConcernSource.WALK_IN,
    ),
    ConcernSeed(
        "xc-street-lights", "xc_huayuan", "urban_rural", "38 20:15",
        "光武大道北段到花园街道的辅路路灯坏了好几盏，晚上黑乎乎的，下夜班回家心里害怕。",
        (
            _accept("37 09:10", "rep_zhangxiuyun"),
            _dispatch("36 10:00", "xc_staff", "住房和城乡建设局"),
            _reply("30 15:20", "已更换损坏路灯7盏，并将该路段纳入路灯日常巡查。"),
            Step("confirm", "29 10:00", "rep_zhangxiuyun", "已现场查看，路灯全部正常亮灯。"),
            _rate("28 19:40", SAT, SAT, "晚上亮堂了，谢谢！"),
        ),
        contact=("马女士", "13812340008"),
        public=True,
    ),
    ConcernSeed(
        "xc-training", "xc_waterproof", "jobs", "33 10:30",
        "返乡的防水工想考个证，听说有职业技能培训补贴，但不知道去哪里报名、什么时候开班。",
        (
            _accept("33 15:00", "rep_zhangxiuyun"),
            _dispatch("32 09:40", "xc_staff", "人力资源和社会保障局"),
            _reply("26 11:00", "防水工职业技能培训下月开班，可在联络站或人社局窗口报名，培训合格发放补贴。"),
            Step("confirm", "25 15:30", "rep_zhangxiuyun", "已在联络站张贴报名通知。"),
            _rate("24 20:10", SAT, BASIC),
        ),
    ),
    ConcernSeed(
        "xc-wheat-seed", "xc_nandun", "farming", "28 09:20",
        "今年小麦良种补贴什么时候发？有的农户说领到了，有的说没有，希望能公开一下名单。",
        (
            _accept("28 10:00", "rep_sunzhiqiang"),
            Step("resolve", "27 16:00", "rep_sunzhiqiang",
                 "已向镇农业服务中心核实，补贴分两批发放，名单已在村务公开栏张贴。"),
            Step("confirm", "27 16:10", "rep_sunzhiqiang"),
            _rate("26 12:00", BASIC, SAT),
        ),
        source=ConcernSource.WALK_IN,
    ),
    ConcernSeed(
        "xc-sewage", "xc_huayuan", "urban_rural", "40 09:00",
        "小区污水井经常冒水，臭味很大，物业说不归他们管，住建说要街道报，来回推。",
        (
            _accept("40 11:30", "rep_liuguilan"),
            _dispatch("39 10:00", "xc_staff", "住房和城乡建设局"),
            _reply("33 16:00", "已对污水井进行清掏。"),
            Step("confirm", "32 10:30", "rep_liuguilan"),
            _rate("30 18:20", DISSAT, SAT, "只掏了一次，没过几天又冒了，根子上的管网问题没解决。"),
            _reply("6 15:30", "已对该小区污水管网进行疏通改造，更换破损管道40米，明确由物业负责日常维护。"),
        ),
        contact=("王先生", "13812340009"),
    ),
    ConcernSeed(
        "xc-labour-contract", "xc_waterproof", "other", "18 14:00",
        "我在一家防水公司上班，老板不跟我签劳动合同，想让代表帮我去找老板说说。",
        (
            Step("reject", "17 10:20", "xc_manager",
                 "属于劳动合同争议，已告知您可向项城市劳动人事争议仲裁院申请仲裁，联络站可提供咨询。"),
        ),
    ),
    ConcernSeed(
        "xc-waterlogging-2", "xc_huayuan", "urban_rural", "8 18:30",
        "建设路那个小区下雨就淹，我们楼下车库进水了，请尽快处理。",
        (
            Step("merge", "8 19:00", "xc_manager", "与同一小区积水问题合并办理，进展请看原件。",
                 into="xc-waterlogging"),
        ),
    ),
    ConcernSeed(
        "xc-parking", "xc_huayuan", "transport", "11 12:10",
        "小区门口的路边停车位收费不合理，想反映一下。",
        (Step("withdraw", "10 09:00"),),
    ),
    ConcernSeed(
        "xc-vendors", "xc_huayuan", "urban_rural", "13 17:20",
        "菜市场门口的流动摊贩占道经营，早上把路堵得死死的，垃圾也没人收拾。",
        (
            _accept("13 18:00", "rep_liuguilan"),
            _dispatch("12 10:10", "xc_staff", "住房和城乡建设局"),
            Step("return", "10 15:00", "unit", "占道经营和市容管理属于城市管理部门职责，请转城市管理局办理。"),
            _dispatch("9 09:30", "xc_staff", "城市管理局"),
        ),
    ),
    ConcernSeed(
        "xc-village-road", "xc_nandun", "transport", "27 10:50",
        "我们村通往镇上的水泥路年久失修，坑坑洼洼，下雨天电动车常摔跤，希望能修一修。",
        (
            _accept("27 15:00", "rep_sunzhiqiang"),
            _dispatch("26 09:20", "xc_staff", "交通运输局"),
            _reply("14 10:00", "该路段已列入明年农村公路养护计划。"),
            Step("send_back", "13 09:00", "rep_sunzhiqiang", "路况已危及安全，请先行修补坑洼，不能等到明年。"),
            _reply("1 11:30", "已安排养护队对坑洼路段先行修补，全线改造列入明年计划。"),
        ),
        contact=("吴大姐", "13812340010"),
    ),
    ConcernSeed(
        "xc-credit", "xc_waterproof", "industry", "20 09:40",
        "小微防水企业想贷款买设备，银行要抵押，我们没有，希望政府能搭个桥，推一推信用贷款。",
        (
            _accept("20 11:00", "rep_chenguoqing"),
            Step("resolve", "4 16:00", "rep_chenguoqing", "已组织三家银行到联络站对接，两家企业已提交信用贷款申请。"),
            Step("confirm", "3 09:30", "rep_chenguoqing"),
        ),
        contact=("郑经理", "13812340011"),
    ),
    ConcernSeed(
        "xc-daycare", "xc_huayuan", "elderly_care", "30 10:15",
        "社区的日间照料中心白天经常锁着门，老人想去坐坐都进不去。",
        (
            _accept("30 11:00", "rep_liuguilan"),
            Step("resolve", "25 15:00", "rep_liuguilan",
                 "已与街道协调，日间照料中心每天8:30至17:30开放，安排专人值守。"),
            Step("confirm", "24 09:00", "rep_liuguilan"),
            Step("auto_close", "17 09:00"),
        ),
    ),
    # 扶沟县: 黄春燕 (national) and the vegetable growers.
    ConcernSeed(
        "fg-cold-store", "fg_vegetable", "farming", "1 07:30",
        "蔬菜集中上市的时候价格压得很低，合作社想建个冷库错峰卖，土地和电力审批不知道找谁，希望给指条路。",
        contact=("朱德明", "13812340012"),
    ),
    ConcernSeed(
        "fg-field-road", "fg_cuiqiao", "transport", "3 06:50",
        "崔桥镇大棚区的生产路太窄，拉菜的货车进不来，菜农只能用三轮车一趟趟往外倒，费时费力。",
        source=ConcernSource.WALK_IN,
    ),
    ConcernSeed(
        "fg-pests", "fg_vegetable", "farming", "15 08:20",
        "今年大棚辣椒病虫害多，打了几遍药效果不好，担心农药残留超标，希望农技人员来指导。",
        (
            _accept("15 10:00", "rep_huangchunyan"),
            _dispatch("14 14:00", "zk_staff", "农业农村局"),
            _reply("3 16:20", "县农技中心已派专家到基地现场指导，推广绿色防控技术，并免费发放防虫网和粘虫板。"),
        ),
        contact=("何小平", "13812340013"),
    ),
    ConcernSeed(
        "fg-market", "fg_cuiqiao", "industry", "41 09:00",
        "镇上的蔬菜交易市场没有遮雨棚，一下雨菜就泡坏了，商户损失很大。",
        (
            _accept("41 10:00", "rep_zhudesheng"),
            _dispatch("40 15:00", "zk_staff", "市场监督管理局"),
            _reply("33 10:00", "已督促市场开办方整改。"),
            Step("confirm", "32 16:00", "rep_zhudesheng"),
            _rate("31 08:00", DISSAT, BASIC, "说是整改，棚子到现在也没搭。"),
            _reply("18 11:00", "市场开办方已搭建遮雨棚1200平方米，并完善了排水沟。"),
            Step("confirm", "17 09:00", "rep_zhudesheng", "已到市场查看，遮雨棚已投入使用。"),
            _rate("15 07:40", SAT, SAT),
        ),
    ),
    # 太康县、郸城县、淮阳区驻京
    ConcernSeed(
        "tk-welders", "tk_boiler", "jobs", "21 11:00",
        "锅炉厂缺焊工，年轻人不愿意干，希望职业学校能开焊接专业，厂里愿意提供实训岗位。",
        (_accept("20 10:00", "rep_fenglina"),),
    ),
    ConcernSeed(
        "tk-power", "tk_boiler", "industry", "35 15:30",
        "产业园这半年停了好几次电，生产线一停就得重新升温，损失不小，希望供电能稳定一些。",
        (
            _accept("35 16:00", "rep_zhengyonggang"),
            _dispatch("34 10:00", "zk_staff", "市场监督管理局"),
            _reply("27 14:00", "已协调供电公司对园区线路进行改造，新增一路备用电源。"),
            Step("confirm", "26 10:00", "rep_zhengyonggang"),
            _rate("24 16:00", SAT, SAT),
        ),
    ),
    ConcernSeed(
        "dc-pig-loans", "dc_farming", "farming", "4 10:30",
        "生猪价格波动大，养殖户想扩栏但贷款难，听说有养殖贷款贴息政策，但不知道怎么申请。",
        (
            _accept("4 14:00", "rep_guohongmei"),
            _dispatch("3 09:00", "zk_staff", "农业农村局"),
        ),
        contact=("林先生", "13812340014"),
    ),
    ConcernSeed(
        "hy-school", "hy_beijing", "education", "22 20:00",
        "在北京打工的淮阳老乡，孩子到了初中想回老家上学，转学手续和学籍怎么办？希望家乡学校能接收。",
        (
            _accept("21 10:00", "rep_gaojianhua"),
            _dispatch("20 09:00", "zk_staff", "教育局"),
            _reply("5 15:00", "返乡就读学生可由家长持户口簿到区教育局窗口办理，学校就近统筹安排，学籍网上转接。"),
            Step("confirm", "4 10:00", "rep_gaojianhua", "已通过老乡群转告办理流程。"),
        ),
        contact=("高女士", "13812340015"),
    ),
    # 漯河经济技术开发区: 杨帆 (lh_manager) has new ones.
    ConcernSeed(
        "lh-shuttle", "lh_food", "transport", "2 18:10",
        "开发区食品厂上下班的职工很多，公交线路少，晚班下班后没有公交，骑电动车要四十分钟，"
        "希望开通通勤班车或者延长公交时间。",
        contact=("唐女士", "13812340016"),
        public=True,
    ),
    ConcernSeed(
        "lh-shuttle-2", "lh_food", "transport", "1 18:40",
        "晚上十点下班没公交，能不能加一班车？",
        (Step("merge", "1 20:00", "lh_manager", "与职工通勤问题合并办理。", into="lh-shuttle"),),
    ),
    ConcernSeed(
        "lh-approval", "lh_service_post", "industry", "0 09:15",
        "企业新上一条生产线，环评和消防验收要跑好几个部门，能不能一窗受理、并联审批？",
        source=ConcernSource.WALK_IN,
    ),
    ConcernSeed(
        "lh-cold-chain", "lh_food", "industry", "37 10:00",
        "园区冷链物流车进出路口没有红绿灯，大车转弯和职工电动车经常抢道，很危险。",
        (
            _accept("37 11:00", "rep_xudongsheng"),
            _dispatch("36 09:30", "lh_staff", "交通运输局"),
            _reply("29 16:00", "已在路口增设信号灯和减速带，高峰时段安排交警值守。"),
            Step("confirm", "28 10:00", "rep_xudongsheng"),
            _rate("27 18:00", SAT, SAT, "现在过路口放心多了。"),
        ),
    ),
    # 平顶山、安阳、驻马店、周口、西华、叶县
    ConcernSeed(
        "pds-school-traffic", "pds_guangming", "transport", "5 07:45",
        "光明路小学放学时校门口家长的车乱停，孩子们过马路很危险，希望能画斑马线、设个护学岗。",
        contact=("彭女士", "13812340017"),
    ),
    ConcernSeed(
        "pds-canteen", "pds_guangming", "elderly_care", "31 10:20",
        "社区食堂的饭菜价格涨了，一份两荤一素要十五块，退休老人吃不起。",
        (
            _accept("31 11:00", "rep_caoshufen"),
            Step("resolve", "26 15:00", "rep_caoshufen", "已协调街道落实老年助餐补贴，60岁以上老人每餐补贴3元。"),
            Step("confirm", "26 15:10", "rep_caoshufen"),
            _rate("25 12:30", SAT, SAT),
        ),
    ),
    ConcernSeed(
        "ay-old-community", "ay_nanguan", "urban_rural", "1 15:00",
        "南关街道老旧小区改造把外墙刷了，可楼道里的电线还是乱拉乱接，存在火灾隐患，希望一起整改。",
        contact=("于先生", "13812340018"),
    ),
    ConcernSeed(
        "ay-medical-insurance", "ay_nanguan", "health", "8 09:30",
        "社区医院看慢性病，医保门诊报销比例比大医院低，能不能提高一些？很多老人都在问。",
        (
            _accept("8 10:00", "rep_yuxiuzhen"),
            Step("resolve", "2 16:00", "rep_yuxiuzhen",
                 "已联系市医保局，门诊慢特病在社区医院报销比例与二级医院一致，已在社区医院张贴政策说明。"),
        ),
        source=ConcernSource.WALK_IN,
    ),
    ConcernSeed(
        "ay-house-contract", "ay_nanguan", "other", "14 11:00",
        "我买的商品房开发商迟迟不交房，想让代表帮我要回定金。",
        (
            Step("reject", "13 09:30", "ay_manager",
                 "属于商品房买卖合同纠纷，需通过诉讼或仲裁解决，已告知可向文峰区人民法院起诉，并提供法律援助联系方式。"),
        ),
    ),
    ConcernSeed(
        "zmd-alley", "zmd_renminjie", "urban_rural", "25 19:30",
        "人民街后面的背街小巷路面坑洼，晚上没有路灯，下水道也经常堵。",
        (
            _accept("25 20:00", "rep_chengjianshe"),
            Step("resolve", "19 15:00", "rep_chengjianshe",
                 "已协调街道将该巷道纳入背街小巷整治，路面已修补，新装路灯6盏。"),
            Step("confirm", "18 10:00", "rep_chengjianshe"),
            _rate("17 20:00", SAT, SAT),
        ),
    ),
    ConcernSeed(
        "ch-property-law", "ch_legislative", "other", "19 14:30",
        "对物业管理条例草案提个意见：物业费调价应当经过业主大会表决，公共收益要定期公示。",
        (
            _accept("19 15:00", "rep_duhaibo"),
            Step("resolve", "12 10:00", "rep_duhaibo", "您的意见已整理报送立法机关，将在草案修改中研究吸收。"),
            Step("confirm", "12 10:05", "rep_duhaibo"),
            _rate("10 09:00", SAT, SAT),
        ),
        source=ConcernSource.WALK_IN,
        public=True,
    ),
    ConcernSeed(
        "xh-neighbours", "xh_mediation", "governance", "16 10:00",
        "邻居盖房子占了我家宅基地半米多，两家为这事吵了好几回，想请代表帮忙调解。",
        (
            _accept("16 10:30", "rep_suwenhua"),
            Step("resolve", "11 16:00", "rep_suwenhua", "经代表调解室调解，双方按原宅基地界址达成协议，已签订调解书。"),
            Step("confirm", "11 16:10", "rep_suwenhua"),
            _rate("9 08:30", SAT, SAT, "苏代表调解得公道。"),
        ),
        contact=("李大爷", "13812340019"),
    ),
    ConcernSeed(
        "yx-hazmat", "yx_salt", "environment", "10 09:00",
        "盐化工产业园的危化品运输车白天从村边道路穿行，车速快，村民担心出事，希望规定专用路线。",
        (
            _accept("10 10:00", "rep_yuandeming"),
            Step("resolve", "4 15:00", "rep_yuandeming",
                 "园区已明确危化品车辆专用通行路线，避开村庄道路，并安装卡口监控。"),
            Step("confirm", "3 11:00", "rep_yuandeming"),
        ),
        anonymous=True,
    ),
)
# fmt: on

# Contents for the scale benchmark's generated concerns (services/scale.py).
SCALE_CONTENTS: tuple[tuple[str, str], ...] = tuple((c.category, c.content) for c in CONCERNS)


def _moment(when: str, now: datetime) -> datetime:
    """A step's time ("<days ago> <HH:MM>" in China) as naive UTC, never later than a few minutes ago."""
    days, _, hhmm = when.partition(" ")
    hour, minute = map(int, hhmm.split(":"))
    day = to_local(now).date() - timedelta(days=int(days))
    moment = to_utc(datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ))
    return min(moment, now - timedelta(minutes=5))


def _unit_near(station: StationSeed, units: dict[tuple[str, str], Unit], suffix: str) -> Unit:
    """The unit named ...`suffix` of the station's county, else of its city."""
    code: str | None = station.region_code
    while code is not None:
        for (region_code, name), unit in units.items():
            if region_code == code and name.endswith(suffix) and "分局" not in name:
                return unit
        code = _REGION_PARENTS.get(code)
    raise LookupError(f"no {suffix} near {station.name}")


def _seed_concerns(stations: dict[str, Station], units: dict[tuple[str, str], Unit]) -> None:
    """Play every concern's story through the state machine, at the times it happened."""
    now = utcnow()
    seeds = {s.key: s for s in STATIONS}
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(_usernames())))}
    categories = {c.code: c for c in db.session.scalars(sa.select(Category))}
    storage = LocalStorage(current_app.config["UPLOAD_FOLDER"])
    made: dict[str, Concern] = {}
    new_ids: list[int] = []
    for seed in CONCERNS:
        key = f"demo-{seed.key}"
        concern = find_by_submission_key(key)
        if concern is not None:
            made[seed.key] = concern
            continue
        name, mobile = seed.contact or ("", "")
        data = ConcernInput(
            category_id=categories[seed.category].id,
            content=seed.content,
            contact_name=name,
            contact_mobile=mobile,
            anonymous=seed.anonymous,
            public=seed.public,
            consent=seed.contact is not None,
        )
        concern = submit_concern(
            stations[seed.station],
            data,
            [],
            storage=storage,
            submission_key=key,
            source=seed.source,
            now=_moment(seed.filed, now),
        )
        for step in seed.steps:
            _play(concern, step, _moment(step.when, now), seeds[seed.station], users, units, made)
        made[seed.key] = concern
        new_ids.append(concern.id)
    db.session.flush()
    if new_ids:
        # The story happened in the past: nobody is to be told about it now.
        db.session.execute(sa.delete(Outbox).where(Outbox.concern_id.in_(new_ids)))


def _usernames() -> set[str]:
    return {s.username for s in STAFF} | {r.username for r in REPRESENTATIVES}


def _play(
    concern: Concern,
    step: Step,
    at: datetime,
    station: StationSeed,
    users: dict[str, User],
    units: dict[tuple[str, str], Unit],
    made: dict[str, Concern],
) -> None:
    if step.action == "rate":
        unit_rating, rep_rating = step.ratings or (Rating.SATISFIED, Rating.SATISFIED)
        concern_flow.rate(concern, unit_rating, rep_rating, step.note, now=at)
        return
    actor: User | None = None
    role: str
    if step.by == "unit":
        # The unit's demo account when it has one (xc_housing, xc_court); else nobody by name.
        role = Role.UNIT_HANDLER
        actor = db.session.scalar(
            sa.select(User).where(User.role == Role.UNIT_HANDLER, User.unit_id == concern.unit_id).limit(1)
        )
    elif step.by is not None:
        actor = users[step.by]
        role = actor.role
    else:
        role = "system" if step.action == "auto_close" else "resident"
    if step.action in ("note", "comment"):
        concern_flow.add_note(concern, step.note, role=role, actor=actor, public=step.action == "comment", now=at)
        return
    extra: dict = {}
    if step.action == "accept":
        extra["representative"] = users[step.rep or ""].representative
    elif step.action == "dispatch":
        extra["unit"] = _unit_near(station, units, step.unit or "")
        if step.due_days is not None:
            extra["due_at"] = at + timedelta(days=step.due_days)
    elif step.action == "merge":
        extra["merge_into"] = made[step.into or ""]
    concern_flow.transition(concern, step.action, role=role, actor=actor, note=step.note, now=at, **extra)
