"""Demo data: Dongguan's organization tree, skills and one account per role."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.permissions import Role
from app.security import demo_id_number
from app.timeutil import utcnow
from volunteers.accounts.models import PoliticalStatus, Skill
from volunteers.organizations.models import Organization, OrgKind, RoleGrant

CITY = ("共青团东莞市委员会", "团市委")

# The 4 streets, 28 towns and the Songshan Lake park of Dongguan.
TOWNS = [
    "莞城街道",
    "南城街道",
    "东城街道",
    "万江街道",
    "石碣镇",
    "石龙镇",
    "茶山镇",
    "石排镇",
    "企石镇",
    "横沥镇",
    "桥头镇",
    "谢岗镇",
    "东坑镇",
    "常平镇",
    "寮步镇",
    "樟木头镇",
    "大朗镇",
    "黄江镇",
    "清溪镇",
    "塘厦镇",
    "凤岗镇",
    "大岭山镇",
    "长安镇",
    "虎门镇",
    "厚街镇",
    "沙田镇",
    "道滘镇",
    "洪梅镇",
    "麻涌镇",
    "望牛墩镇",
    "中堂镇",
    "高埗镇",
    "松山湖园区",
]

UNIVERSITIES = ["东莞理工学院", "东莞城市学院", "广东科技学院", "广东医科大学东莞校区", "东莞职业技术学院"]
ENTERPRISES = ["东莞市交通运输局", "东莞供电局"]

# Units below some committees: (parent short name, name, kind)
UNITS = [
    ("南城街道", "南城街道志愿服务队", OrgKind.TEAM),
    ("南城街道", "南城街道阳光社区团支部", OrgKind.BRANCH),
    ("南城街道", "南城河小青护河志愿服务队", OrgKind.TEAM),
    ("东城街道", "东城街道志愿者协会", OrgKind.TEAM),
    ("东城街道", "东城街道主山社区团支部", OrgKind.BRANCH),
    ("虎门镇", "虎门镇志愿服务队", OrgKind.TEAM),
    ("长安镇", "长安镇河小青志愿服务队", OrgKind.TEAM),
    ("松山湖园区", "松山湖园区志愿者协会", OrgKind.TEAM),
    ("东莞理工学院", "东莞理工学院计算机科学与技术学院团委", OrgKind.BRANCH),
    ("东莞理工学院", "东莞理工学院青年志愿者协会", OrgKind.TEAM),
    ("东莞城市学院", "东莞城市学院青年志愿者协会", OrgKind.TEAM),
    ("广东科技学院", "广东科技学院青年志愿者协会", OrgKind.TEAM),
    ("东莞供电局", "东莞供电局青年志愿服务队", OrgKind.TEAM),
]

SKILLS = [
    ("急救", "First aid"),
    ("摄影", "Photography"),
    ("心理辅导", "Counselling"),
    ("驾驶", "Driving"),
    ("医疗", "Medical"),
    ("电脑维修", "Computer repair"),
]
LANGUAGES = [
    ("普通话", "Mandarin"),
    ("粤语", "Cantonese"),
    ("英语", "English"),
    ("日语", "Japanese"),
    ("韩语", "Korean"),
    ("手语", "Sign language"),
]

DEMO_PASSWORD = "Dongguan2026"

# mobile, name, role, organization short name, birth date, political status
DEMO_ACCOUNTS = [
    ("13800000001", "陈志远", Role.ADMIN, "团市委", date(1988, 3, 12), PoliticalStatus.PARTY_MEMBER),
    ("13800000002", "李晓敏", Role.REVIEWER, "南城街道", date(1993, 7, 5), PoliticalStatus.LEAGUE_MEMBER),
    (
        "13800000003",
        "黄俊杰",
        Role.COORDINATOR,
        "南城街道志愿服务队",
        date(1997, 11, 20),
        PoliticalStatus.LEAGUE_MEMBER,
    ),
    ("13800000004", "张雨桐", None, "东莞理工学院青年志愿者协会", date(2006, 5, 16), PoliticalStatus.ACTIVIST),
]


def load_demo_data(*, force: bool = False) -> bool:
    """Create the demo data unless organizations already exist; True when created."""
    from volunteers.accounts.services import ProfileData, register_volunteer
    from volunteers.organizations.services import create_organization

    if not force and db.session.scalar(select(func.count(Organization.id))):
        return False
    now = utcnow()
    city = create_organization(CITY[0], OrgKind.CITY.value, None, short_name=CITY[1], now=now)
    by_short = {CITY[1]: city}
    for town in TOWNS:
        by_short[town] = create_organization(f"共青团东莞市{town}委员会", OrgKind.TOWN.value, city, short_name=town)
    for uni in UNIVERSITIES:
        by_short[uni] = create_organization(f"共青团{uni}委员会", OrgKind.UNIVERSITY.value, city, short_name=uni)
    for ent in ENTERPRISES:
        by_short[ent] = create_organization(f"共青团{ent}委员会", OrgKind.ENTERPRISE.value, city, short_name=ent)
    for parent, name, kind in UNITS:
        by_short[name] = create_organization(name, kind.value, by_short[parent])

    for name, name_en in SKILLS:
        db.session.add(Skill(name=name, name_en=name_en, kind="skill"))
    for name, name_en in LANGUAGES:
        db.session.add(Skill(name=name, name_en=name_en, kind="language"))
    db.session.flush()

    for seq, (mobile, name, role, org_short, birth, status) in enumerate(DEMO_ACCOUNTS, start=101):
        org = by_short[org_short]
        user = register_volunteer(
            mobile=mobile,
            id_number=demo_id_number(birth, seq),
            password=DEMO_PASSWORD,
            profile=ProfileData(
                name=name,
                political_status=status.value,
                organization_id=org.id,
                emergency_contact_name="王芳",
                emergency_contact_mobile="13900000000",
                activist_since=date(2026, 3, 1) if status == PoliticalStatus.ACTIVIST else None,
            ),
            now=now,
        )
        if role is not None:
            db.session.add(RoleGrant(user_id=user.id, organization_id=org.id, role=role.value, granted_at=now))
    db.session.flush()
    return True
