"""Seed a demo company through the real services; running it twice changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import flows as approval_flows
from baoxiao.approvals import service as approvals
from baoxiao.budgets import service as budgets
from baoxiao.budgets.schemas import BudgetCreate, ControlName
from baoxiao.claims import queries as claim_queries
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.passwords import hash_password
from baoxiao.identity.service import principal_for
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.money import ISO_MINOR_UNITS
from baoxiao.models.approval import TaskStatus
from baoxiao.models.catalog import Currency, ExchangeRate, ExpenseCategory
from baoxiao.models.identity import Role, RoleAssignment, User
from baoxiao.models.org import Company, CostCenter, Department, Employee
from baoxiao.payments import advances, bankaccounts
from baoxiao.payments import service as payments

DEMO_CODE = "DEMO"
DEMO_PASSWORD = "baoxiao-demo"

CURRENCIES = {
    "CNY": "人民币 Renminbi",
    "USD": "US Dollar",
    "EUR": "Euro",
    "HKD": "Hong Kong Dollar",
    "JPY": "Japanese Yen",
}
RATES = {"USD": "7.10500000", "EUR": "7.78200000", "HKD": "0.91230000", "JPY": "0.04710000"}
CATEGORIES = [
    ("TRAVEL", "差旅交通费", "Travel fares", "6602.01"),
    ("HOTEL", "住宿费", "Hotel", "6602.02"),
    ("MEAL", "餐费补助", "Meals", "6602.03"),
    ("TAXI", "市内交通费", "Local transport", "6602.04"),
    ("ENTERTAIN", "业务招待费", "Client entertainment", "6602.05"),
    ("OFFICE", "办公费", "Office supplies", "6602.06"),
    ("PHONE", "通讯费", "Phone and internet", "6602.07"),
    ("TRAINING", "培训费", "Training", "6602.08"),
]
# code, zh name, en name, parent code
DEPARTMENTS = [
    ("HQ", "总经办", "Executive Office", None),
    ("FIN", "财务部", "Finance", "HQ"),
    ("RD", "研发中心", "R&D Center", "HQ"),
    ("RD-PLAT", "平台组", "Platform Team", "RD"),
    ("RD-APP", "应用组", "Applications Team", "RD"),
    ("SALES", "销售部", "Sales", "HQ"),
    ("SALES-E", "华东区", "East China", "SALES"),
    ("SALES-S", "华南区", "South China", "SALES"),
    ("HR", "人力行政部", "HR and Admin", "HQ"),
]
# username, name, grade, department, manager username, roles
PEOPLE = [
    ("chen.jie", "陈杰", "M3", "HQ", None, ["admin", "integrator"]),
    ("zhao.min", "赵敏", "M2", "FIN", "chen.jie", ["finance"]),
    ("sun.li", "孙丽", "P6", "FIN", "zhao.min", ["finance", "cashier"]),
    ("qian.yu", "钱雨", "P5", "FIN", "zhao.min", []),
    ("wang.fang", "王芳", "M2", "RD", "chen.jie", []),
    ("liu.yang", "刘洋", "M1", "RD-PLAT", "wang.fang", []),
    ("li.na", "李娜", "P6", "RD-PLAT", "liu.yang", []),
    ("zhang.wei", "张伟", "P7", "RD-PLAT", "liu.yang", []),
    ("yang.guang", "杨光", "P5", "RD-PLAT", "liu.yang", []),
    ("huang.lei", "黄磊", "P6", "RD-PLAT", "liu.yang", []),
    ("zhou.xin", "周鑫", "M1", "RD-APP", "wang.fang", []),
    ("wu.hao", "吴昊", "P6", "RD-APP", "zhou.xin", []),
    ("xu.jing", "徐静", "P5", "RD-APP", "zhou.xin", []),
    ("sun.qiang", "孙强", "P7", "RD-APP", "zhou.xin", []),
    ("ma.lin", "马琳", "P4", "RD-APP", "zhou.xin", []),
    ("zhu.tao", "朱涛", "M2", "SALES", "chen.jie", []),
    ("hu.bin", "胡斌", "M1", "SALES-E", "zhu.tao", []),
    ("guo.mei", "郭梅", "P6", "SALES-E", "hu.bin", []),
    ("he.jun", "何军", "P5", "SALES-E", "hu.bin", []),
    ("lin.xue", "林雪", "P5", "SALES-E", "hu.bin", []),
    ("luo.peng", "罗鹏", "P6", "SALES-E", "hu.bin", []),
    ("zheng.kai", "郑凯", "M1", "SALES-S", "zhu.tao", []),
    ("liang.yi", "梁怡", "P6", "SALES-S", "zheng.kai", []),
    ("song.jia", "宋佳", "P5", "SALES-S", "zheng.kai", []),
    ("xie.fei", "谢飞", "P4", "SALES-S", "zheng.kai", []),
    ("han.xu", "韩旭", "P5", "SALES-S", "zheng.kai", []),
    ("tang.wen", "唐文", "M1", "HR", "chen.jie", []),
    ("feng.yan", "冯燕", "P5", "HR", "tang.wen", []),
    ("deng.hui", "邓辉", "P4", "HR", "tang.wen", []),
    ("cao.ying", "曹颖", "P5", "HR", "tang.wen", []),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str


DEMO_LOGINS = [
    DemoLogin("li.na", "employee (R&D)"),
    DemoLogin("liu.yang", "manager of li.na"),
    DemoLogin("zhao.min", "finance reviewer"),
    DemoLogin("sun.li", "finance cashier"),
    DemoLogin("chen.jie", "admin"),
]


def already_seeded(session: Session) -> bool:
    return session.scalars(select(Company).where(Company.code == DEMO_CODE)).first() is not None


def seed(session: Session, box: SecretBox | None = None) -> bool:
    """Create the demo company; returns False when it already exists.

    With `box` (the instance's SecretBox), a few employees get payee bank accounts.
    """
    if already_seeded(session):
        return False
    _currencies(session)
    company = Company(
        code=DEMO_CODE,
        name="示例科技有限公司",
        name_en="Demo Technology Co., Ltd.",
        tax_id="91310000MA1DEMO00X",
        base_currency="CNY",
        timezone="Asia/Shanghai",
    )
    session.add(company)
    session.flush()
    for code, zh, en, gl in CATEGORIES:
        session.add(
            ExpenseCategory(company_id=company.id, code=code, name_zh=zh, name_en=en, gl_account=gl)
        )
    for quote_code, rate in RATES.items():
        session.add(
            ExchangeRate(
                company_id=company.id,
                base=quote_code,
                quote="CNY",
                rate=Decimal(rate),
                effective_date=date(2026, 1, 1),
            )
        )
    users = _org(session, company)
    session.flush()
    _flows(session, users)
    _budgets(session, users)
    if box is not None:
        _bank_accounts(session, users, box)
    _claims(session, users)
    _advance(session, users)
    return True


def _currencies(session: Session) -> None:
    for code, name in CURRENCIES.items():
        if session.get(Currency, code) is None:
            session.add(Currency(code=code, name=name, minor_units=ISO_MINOR_UNITS[code]))


def _org(session: Session, company: Company) -> dict[str, User]:
    depts: dict[str, Department] = {}
    for code, zh, en, parent in DEPARTMENTS:
        dept = Department(
            id=uuid.uuid4(),
            company_id=company.id,
            code=code,
            name=zh,
            name_en=en,
            parent_id=depts[parent].id if parent else None,
        )
        depts[code] = dept
        session.add(dept)
    session.flush()
    centers = {
        code: CostCenter(company_id=company.id, code=f"CC-{code}", name=f"{zh}成本中心")
        for code, zh, _en, _p in DEPARTMENTS
    }
    session.add_all(centers.values())
    session.flush()
    password = hash_password(DEMO_PASSWORD)
    people: dict[str, Employee] = {}
    users: dict[str, User] = {}
    for index, (username, name, grade, dept_code, manager, roles) in enumerate(PEOPLE, start=1):
        emp = Employee(
            company_id=company.id,
            employee_no=f"E{index:04d}",
            name=name,
            email=f"{username}@demo.baoxiao.dev",
            mobile=f"1380000{index:04d}",
            grade=grade,
            department_id=depts[dept_code].id,
            cost_center_id=centers[dept_code].id,
            manager_id=people[manager].id if manager else None,
        )
        session.add(emp)
        session.flush()
        people[username] = emp
        user = User(
            company_id=company.id,
            username=username,
            password_hash=password,
            employee_id=emp.id,
            display_name=name,
        )
        user.roles = [RoleAssignment(role=Role.EMPLOYEE.value, company_id=company.id)]
        user.roles += [RoleAssignment(role=r, company_id=company.id) for r in roles]
        if grade.startswith("M"):
            user.roles.append(RoleAssignment(role=Role.MANAGER.value, company_id=company.id))
        session.add(user)
        users[username] = user
    for code, dept in depts.items():
        head = next((u for u, _n, g, d, _m, _r in PEOPLE if d == code and g.startswith("M")), None)
        dept.head_id = people[head].id if head else None
        centers[code].owner_id = dept.head_id  # the department head owns its budget
    return users


EXAMPLE_FLOWS = ("simple-two-level.yaml", "amount-tiered.yaml", "travel-countersign.yaml")


def _flows(session: Session, users: dict[str, User]) -> None:
    """Publish the three shipped example flows for the demo company."""
    admin = principal_for(users["chen.jie"])
    folder = resources.files("baoxiao.approvals").joinpath("examples")
    for name in EXAMPLE_FLOWS:
        document = yaml.safe_load(folder.joinpath(name).read_text(encoding="utf-8"))
        flow = approval_flows.create_flow(session, admin, document)
        approval_flows.publish(session, admin, flow.id)


def _line(
    category: str,
    days_ago: int,
    amount: str,
    currency: str = "CNY",
    city: str = "上海",
    description: str = "",
) -> ClaimLineCreate:
    return ClaimLineCreate(
        category_code=category,
        expense_date=date.today() - timedelta(days=days_ago),
        amount=Decimal(amount),
        currency=currency,
        city=city,
        description=description,
    )


def _claims(session: Session, users: dict[str, User]) -> None:
    """Claims in every state a claim can rest in."""
    p = {name: principal_for(user) for name, user in users.items()}
    trip = [
        _line("TRAVEL", 20, "553.00", city="北京", description="上海-北京 高铁二等座"),
        _line("HOTEL", 19, "1350.00", city="北京", description="北京 3 晚"),
        _line("MEAL", 19, "300.00", city="北京"),
    ]

    def draft(who: str, reason: str, lines: list[ClaimLineCreate]) -> uuid.UUID:
        return claims.create_draft(session, p[who], ClaimCreate(reason=reason, lines=lines)).id

    def submitted(who: str, reason: str, lines: list[ClaimLineCreate]) -> uuid.UUID:
        claim_id = draft(who, reason, lines)
        claims.submit(session, p[who], claim_id, None)
        return claim_id

    def decide(
        approver: str, claim_id: uuid.UUID, decision: approvals.Decision, comment: str | None = None
    ) -> None:
        task = approvals.open_task_for(
            session, p[approver], claim_queries.get_claim(session, p[approver], claim_id)
        )
        assert task is not None and task.status == TaskStatus.PENDING
        approvals.decide(session, p[approver], task.id, decision, comment)

    draft("li.na", "客户拜访打车费", [_line("TAXI", 3, "86.50")])
    submitted("zhang.wei", "北京客户现场部署差旅", trip)
    approving = submitted(
        "guo.mei",
        "杭州展会差旅",
        [_line("TRAVEL", 12, "219.50", city="杭州"), _line("HOTEL", 11, "980.00", city="杭州")],
    )
    decide("hu.bin", approving, "approve")
    approved = submitted("wu.hao", "技术培训报名费", [_line("TRAINING", 30, "2800.00")])
    decide("zhou.xin", approved, "approve")
    decide("zhao.min", approved, "approve")
    paying = submitted(
        "he.jun",
        "东京客户拜访",
        [_line("HOTEL", 40, "32000", "JPY", "东京"), _line("TAXI", 40, "8600", "JPY", "东京")],
    )
    decide("hu.bin", paying, "approve")
    decide("zhao.min", paying, "approve")
    payments.request_payment(session, p["sun.li"], paying)
    for who, approver, reason in [
        ("li.na", "liu.yang", "三月手机话费"),
        ("liang.yi", "zheng.kai", "客户招待晚餐"),
    ]:
        paid = submitted(
            who, reason, [_line("PHONE" if "话费" in reason else "ENTERTAIN", 50, "199.00")]
        )
        decide(approver, paid, "approve")
        decide("zhao.min", paid, "approve")
        payments.mark_paid(
            session, p["sun.li"], paid, external_reference=f"BANK{utcnow():%Y%m%d}{paid.hex[:6]}"
        )
    returned = submitted("xu.jing", "办公用品采购", [_line("OFFICE", 8, "468.00")])
    decide("zhou.xin", returned, "return", "请补充发票照片")
    rejected = submitted("song.jia", "私人聚餐", [_line("ENTERTAIN", 15, "1280.00")])
    decide("zheng.kai", rejected, "reject", "非业务招待,不予报销")
    withdrawn = submitted("ma.lin", "培训教材", [_line("TRAINING", 5, "156.00")])
    claims.withdraw(session, p["ma.lin"], withdrawn, "金额填错,撤回修改", None)
    cancelled = draft("deng.hui", "重复填写的报销单", [_line("TAXI", 2, "35.00")])
    claims.cancel(session, p["deng.hui"], cancelled, "重复", None)


# department code, amount per year, control mode
BUDGETS: list[tuple[str, str, ControlName]] = [
    ("RD-PLAT", "200000", "block"),
    ("RD-APP", "150000", "warn"),
    ("SALES-E", "120000", "warn"),
    ("SALES-S", "80000", "block"),
    ("HR", "30000", "track"),
]
BANK_ACCOUNTS = {
    "li.na": ("中国工商银行", "上海张江支行", "6222021001012345678"),
    "zhang.wei": ("招商银行", "上海分行营业部", "6214830212345671"),
    "wu.hao": ("中国建设银行", "上海浦东分行", "6217001234567890123"),
    "he.jun": ("中国银行", "上海分行", "6216612345678901"),
    "liang.yi": ("交通银行", "深圳分行", "6222601234567890"),
}


def _budgets(session: Session, users: dict[str, User]) -> None:
    """Annual department budgets (this year and, early in the year, the last), plus travel."""
    finance = principal_for(users["zhao.min"])
    today = date.today()
    for year in sorted({today.year, (today - timedelta(days=60)).year}):
        for dept, amount, control in BUDGETS:
            owner = session.scalars(
                select(Department.head_id).where(
                    Department.company_id == finance.company_id, Department.code == dept
                )
            ).first()
            budgets.create(
                session,
                finance,
                BudgetCreate(
                    code=f"{dept}-{year}",
                    name=f"{dept} {year} 年度费用预算",
                    period_kind="year",
                    period=str(year),
                    amount=Decimal(amount),
                    control=control,
                    department_code=dept,
                    owner_id=owner,
                ),
            )
        budgets.create(
            session,
            finance,
            BudgetCreate(
                code=f"TRAVEL-{year}",
                name=f"{year} 差旅交通费(全公司)",
                period_kind="year",
                period=str(year),
                amount=Decimal("300000"),
                control="warn",
                category_code="TRAVEL",
            ),
        )


def _bank_accounts(session: Session, users: dict[str, User], box: SecretBox) -> None:
    for username, (bank, branch, number) in BANK_ACCOUNTS.items():
        user = users[username]
        assert user.employee_id is not None
        details = bankaccounts.BankDetails(
            holder_name=user.display_name, bank_name=bank, account_number=number, branch_name=branch
        )
        bankaccounts.put(
            session, principal_for(user), box, user.employee_id, details, DEMO_PASSWORD
        )


def _advance(session: Session, users: dict[str, User]) -> None:
    """An open travel advance (借款) of li.na: approved and paid, not yet offset."""
    p = {name: principal_for(users[name]) for name in ("li.na", "liu.yang", "zhao.min", "sun.li")}
    advance = advances.request(
        session,
        p["li.na"],
        amount=Decimal("3000.00"),
        reason="深圳客户现场支持差旅借款",
        category_code="TRAVEL",
        due_date=date.today() + timedelta(days=30),
    )
    for approver in ("liu.yang", "zhao.min"):
        claim = claim_queries.get_claim(session, p[approver], advance.claim_id)
        task = approvals.open_task_for(session, p[approver], claim)
        if task is not None:
            approvals.decide(session, p[approver], task.id, "approve", None)
    payments.mark_paid(
        session, p["sun.li"], advance.claim_id, external_reference=f"BANK{utcnow():%Y%m%d}ADV001"
    )
