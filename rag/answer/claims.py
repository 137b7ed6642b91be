"""What a sentence claims, read the way a careful reader checks it against a paragraph.

Figures with unit and magnitude (3,200 = 3200 = 三千二百; 万元 ≠ 亿元; % ≠ 个百分点), dates
(relative ones — 今年, 年底, 上半年 — resolved against the proposal's year), named entities
(departments with their aliases, 镇街, hospitals, schools, parks and other bodies, projects in
“”, policies in 《》), and the modality and scope words of each clause. The word lists of the
grounding judge live here and nowhere else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.core.departments import _ALIASES, department_key
from rag.core.textnorm import nfkc, norm

# ---- word lists -----------------------------------------------------------------------------
# a claim that something is done / in force
DONE_CLAIM = ("已", "建成", "实现", "取消", "完成了", "开通了", "投入使用", "投入运行")
# what a paragraph says when it reports a plan, an aim or a partial state
PLAN_SUPPORT = ("计划", "力争", "争取", "拟", "规划建设", "规划新增", "下一步", "预计", "目标", "年底前", "年前",
                "底前", "今后", "未来", "尚未", "未能", "还未", "暂未", "拟于", "谋划", "建议")
# verbs of effort: a plan when they govern the very clause ("推动每个分馆配备2名"), a report otherwise
EFFORT = ("推动", "研究", "探索", "逐步", "鼓励", "引导", "争创", "正在")
# who says it, not what is said: "答复称", "提案指出", "市卫生健康局表示"
ATTRIBUTION = re.compile(r"^(?:据|根据|按照|按)?[^，,。；]{0,18}?(?:答复|提案|回复|来函|材料)(?:中|里)?"
                         r"(?:称|表示|指出|提到|显示|反映|说|介绍|提出|认为|明确)?[，,:：]?"
                         r"|^[^，,。；]{2,16}?(?:表示|指出|介绍|回应|透露)[，,:：]?")
# 将 with a verb is a plan; a bare 将 is often 把 ("将心理健康纳入必修内容" reports what was done)
PLAN_WILL = ("将于", "将在", "将会", "将进一步", "将继续", "将加快", "将积极", "将逐步", "将推动", "将开展",
             "将建", "将完成", "将实现", "将启动", "将出台", "将研究", "将争取", "将全面", "将加大", "将持续",
             "将联合", "将会同", "将组织", "将提高", "将统筹", "将适时", "将按", "将探索", "今后", "未来")
# what says, of itself, that a thing is done or stands so now
STRICT_DONE = ("已", "累计", "截至", "截止", "目前", "先后", "建成", "如今")
# a paragraph that reports results ("由45天缩短至20天") or sets targets ("5个以上")
RESULT = re.compile(r"由[^，。；]{0,20}?(?:提高|提升|增加|缩短|压缩|减少|下降|降低|增长)(?:至|到)")
TARGET = re.compile(r"\d(?:万|亿)?[^\d，,。；]{0,4}以上|不低于|不少于|不超过|力争|确保")
ENUMERATED = re.compile(r"^(?:[(（][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.]|\d{1,4}[.、])")
# universal scope a claim may state; it needs a paragraph that says as much
# (均 of 平均/日均/人均 is an average, not "all"); 全市 alone says where, not "every one"
UNIVERSAL = re.compile(r"全市所有|全部|所有(?![权制者])|全面|全覆盖|全域|一律|(?<![日平人年月户亩生周])均|都已|都能|凡是|各镇街|每个镇|"
                       r"全市各|全体|100%")
UNIVERSAL_SUPPORT = re.compile(r"全部|所有(?![权制者])|全面|全覆盖|全域|一律|(?<![日平人年月户亩生周])均|都|各|每个|每所|每家|全体|"
                               r"100%|凡")
# what narrows a statement to a part
PARTIAL = ("试点", "部分", "其中", "首批", "个别", "选取", "局部", "逐步")
# a thing said to be built, issued, opened or started needs a paragraph that says that very thing
DONE_VERBS = {"建成": ("建成", "建有", "落成", "完工", "竣工"), "出台": ("出台", "印发", "发布", "施行", "实施", "颁布"),
              "印发": ("出台", "印发", "发布", "施行", "实施", "颁布"), "开通": ("开通", "上线", "通车", "运行"),
              "开工": ("开工", "动工", "施工", "在建"), "完工": ("完工", "竣工", "建成"), "竣工": ("完工", "竣工", "建成"),
              "投入使用": ("投入使用", "投用", "启用", "运行"), "投入运行": ("投入运行", "投运", "运行", "投入使用")}
# strong verbs and the weaker ones a paragraph may have said instead
STRONG = {"取消": ("取消", "免除", "不再"), "免费": ("免费", "免收", "不收取"), "禁止": ("禁止", "不得", "严禁")}
NEGATION = ("尚未", "未能", "还未", "暂未", "没有", "并未", "仍未", "未实现", "未完成", "未建成", "未开通", "未纳入",
            "未出台", "未建立")

# 东莞's 镇街 and 园区 (a name in a claim must stand in a cited paragraph)
TOWNS = ("莞城", "东城", "南城", "万江", "石碣", "石龙", "茶山", "石排", "企石", "横沥", "桥头", "谢岗", "东坑",
         "常平", "寮步", "樟木头", "大朗", "黄江", "清溪", "塘厦", "凤岗", "大岭山", "长安", "虎门", "厚街",
         "沙田", "道滘", "洪梅", "麻涌", "望牛墩", "中堂", "高埗", "松山湖", "滨海湾", "东部工业园", "银瓶")
# departments beyond the aliased long forms (short keys as department_key gives them)
DEPARTMENTS = ("教育局", "公安局", "财政局", "民政局", "司法局", "水务局", "商务局", "统计局", "税务局", "林业局",
               "气象局", "信访局", "审计局", "国资委", "金融工作局", "金融局", "退役军人事务局", "外事局", "侨务局",
               "河长办", "残联", "妇联", "总工会", "团市委", "卫健委", "发改委", "检察院", "中级人民法院", "法院",
               "交警支队", "消防救援支队", "供电局", "邮政管理局", "海关", "住房公积金管理中心", "社保局",
               "城建工程管理局", "重点项目管理中心", "轨道交通局", "工商联", "科协", "文联", "红十字会")
# bodies named by what they are: the name before such a word must stand in a cited paragraph
ORG_SUFFIX = ("人民医院", "医院", "保健院", "分行", "少年宫", "检察部", "学院", "大学", "中学", "小学", "学校", "幼儿园", "实验室", "研究院", "研究所",
              "公司", "集团", "银行", "水库", "派出所", "排涝站", "泵站", "公园", "图书馆", "博物馆", "体育馆",
              "科技园", "产业园", "检察院", "法院")
# words before a body word that describe it rather than name it ("相关医院", "二级以上医院")
GENERIC_PREFIX = ("相关", "周边", "各级", "辖区", "定点", "公办", "民办", "基层", "综合", "所在", "其他", "有关",
                  "本地", "全市", "本市", "我市", "以上", "部分", "属地", "试点", "合作", "重点", "专科", "公立",
                  "民营", "社会", "市属", "镇属", "村级", "社区", "城区", "乡镇", "中小", "高等", "职业")
# characters that never belong to a proper name (they start or end the name's run)
_NOT_NAME = set("的了在和与及或等各是有为对把被将并从向到由给以于经按其该这那此每全共约达已均都也还又再就即"
                "会同联合依托通过推动支持鼓励引导指导开展建设建成设立成立完成实现组织牵头负责委托部分其中一二两三"
                "四五六七八九十百千万亿个家所座处条项次年月日市区镇内外上下中前后新增改扩提元余名多底少约近超")


# ---- figures ------------------------------------------------------------------------------
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_NUM = "零〇一二两三四五六七八九十百千半"

# unit → (canonical unit, group). Counts of things are one group: "28个驿站" and "驿站28个"
# both count驿站, and a model may use either classifier; measures must match exactly.
_UNITS = {
    "个百分点": "pp", "百分点": "pp", "%": "%", "‰": "‰", "倍": "倍", "成": "成",
    "元": "元", "平方公里": "km2", "平方千米": "km2", "平方米": "m2", "立方米每秒": "m3/s", "立方米每小时": "m3/h",
    "立方米/秒": "m3/s", "立方米/小时": "m3/h", "立方米每时": "m3/h", "立方米": "m3", "公里": "km", "千米": "km", "米": "m", "公顷": "ha",
    "亩": "亩", "吨": "t", "千克": "kg", "公斤": "kg", "千瓦": "kW", "兆瓦": "MW", "千伏": "kV",
    "个工作日": "工作日", "工作日": "工作日", "小时": "h", "分钟": "min", "秒": "s", "天": "天", "周": "周",
    "个月": "月份", "季度": "季度", "学时": "学时", "课时": "学时",
    "人次": "人次", "册次": "册次", "万人次": "人次", "户次": "户次", "车次": "车次", "架次": "架次", "场次": "场次",
    "人": "人", "名": "人", "位": "人",
    "册": "册", "件": "件", "张": "张", "床": "张", "宗": "宗", "起": "宗", "例": "例", "盏": "盏", "株": "株",
    "棵": "株", "套": "套", "辆": "辆", "台": "台", "座": "座", "间": "间", "户": "户", "批": "批", "期": "期",
    "场": "场", "次": "次", "项": "项", "条": "条", "类": "类", "份": "份", "篇": "篇", "门": "门", "所": "所",
    "家": "家", "个": "个", "处": "处", "号": "号", "级": "级", "层": "层", "班": "班", "支": "支", "片": "片",
    "年": "年期", "岁": "岁", "分": "分",
}
COUNT_UNITS = frozenset("个 家 所 座 处 台 辆 间 套 张 条 宗 件 项 批 场 次 期 户 门 片 支 班 类 份".split())
_UNIT_RE = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_MAG = {"万": 1e4, "亿": 1e8, "千": 1e3, "百": 1e2, "万亿": 1e12}
# Chinese numerals count only with a magnitude or unit after them (三千二百个; not 一是, 统一)
_FIG = re.compile(rf"(?P<num>\d+(?:\.\d+)?|[{_CN_NUM}]+(?=(?:万亿|万|亿)?(?:{_UNIT_RE})))"
                  rf"(?P<mag>万亿|万|亿)?(?P<unit>{_UNIT_RE})?")


def cn_number(s: str) -> float | None:
    """三千二百 → 3200, 十二 → 12, 两 → 2, 一九 → None (not a quantity)."""
    if not s or any(c not in _CN_NUM for c in s):
        return None
    if "半" in s:
        return 0.5 if s == "半" else None
    total, cur = 0, None
    for c in s:
        if c in _CN_DIGIT:
            if cur is not None:  # two digits in a row ("一九") is a code, not a quantity
                return None
            cur = _CN_DIGIT[c]
        else:
            total += (1 if cur is None else cur) * _CN_UNIT[c]
            cur = None
    return float(total + (cur or 0))


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str  # canonical unit, "" when the number stands bare
    text: str
    per: str = ""  # the rate it is given at: 每月, 每亩, 日租 ("" when none is said)
    tail: str = ""  # the character after a bare number (an unknown unit: 标箱, 升)

    def matches(self, other: "Figure") -> bool:
        if abs(self.value - other.value) > 1e-9 * max(1.0, abs(self.value)):
            return False
        if self.per and other.per and self.per != other.per:
            return False
        if not self.unit and self.tail and not other.unit and other.tail:
            return self.tail == other.tail
        if not self.unit or not other.unit:
            return not (self.tail and other.unit) and not (other.tail and self.unit)
        return self.unit == other.unit or (self.unit in COUNT_UNITS and other.unit in COUNT_UNITS)


# words after a bare number that are no unit of it ("2至3周", "1200余名")
_CONNECT = set("至到、和及与或余多左右以上下内外的为是个")
_PER = re.compile(r".*(每(?:人|户|月|年|日|天|周|小时|亩|平方米|个|所|家|校|村|吨|次|生|课时|张|辆|座)|[日月年周]租|[人户亩日月年]均|[日月年](?:收入|薪))"
                  r"[^，,；;。每]{0,8}$")


_LIST_NO = re.compile(r"(?m)^\s*\d{1,4}[.、](?!\d)\s*")  # "1. 20220239《…》": a list number, then the id
_PER_FIRST = re.compile(r"每(秒|小时)(\d+(?:\.\d+)?(?:万|亿)?)(立方米|吨|公里|米)")


@lru_cache(maxsize=8192)
def figures(text: str) -> tuple[Figure, ...]:
    """Quantities stated in ``text`` (years, months and days are dates, see ``dates``)."""
    t = _PER_FIRST.sub(r"\2\3每\1", strip_titles(norm(_LIST_NO.sub(" ", text))))
    out = []
    for m in _FIG.finditer(t):
        num, mag, unit = m.group("num"), m.group("mag"), m.group("unit") or ""
        if num[0].isdigit():
            v = float(num)
        else:
            v = cn_number(num)
            if v is None or not (unit or mag) or unit in ("年期", "号", "级", "层", "分", "成"):
                continue  # 一是, 第三, 十四五: words, not quantities
        canon = _UNITS.get(unit, "")
        end = t[m.end():m.end() + 1]
        if canon == "年期" and (_is_year(num) or end in "底初末内中"):
            continue  # a year, not a number of years
        if unit in ("月", "日"):
            continue
        if num[0].isdigit() and not unit and not mag:
            if end in ("月", "日", "年") or (len(num) == 1 and "." not in num):
                continue  # a date part or a list number
        if num[0].isdigit() and unit == "" and t[m.start() - 1:m.start()] in ("第",):
            continue
        per = _PER.search(t[max(0, m.start() - 12):m.start()])
        nxt = t[m.end():m.end() + 1]
        tail = nxt if not canon and "\u4e00" <= nxt <= "\u9fff" and nxt not in _CONNECT else ""
        out.append(Figure(v * (_MAG[mag] if mag else 1.0), canon, m.group(0), per.group(1) if per else "", tail))
    for m in _ORDINAL.finditer(t):  # 第一检察部 is not 第三检察部
        v = float(m.group(1)) if m.group(1).isdigit() else cn_number(m.group(1))
        if v is not None:
            out.append(Figure(v, "第", m.group(0)))
    return tuple(out)


_ORDINAL = re.compile(r"第([一二三四五六七八九十]{1,3}|\d{1,3})(?=[^\d一二三四五六七八九十])")


def _is_year(num: str) -> bool:
    return num.isdigit() and len(num) == 4 and num[:2] in ("19", "20")


# ---- dates --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Date:
    year: int | None
    month: int | None
    day: int | None
    part: str | None  # "end" (年底/年末/下半年), "start" (年初/上半年)
    text: str

    def supported_by(self, o: "Date") -> bool:
        if self.year is not None and o.year is not None and self.year != o.year:
            return False
        if self.year is not None and o.year is None and self.month is None and self.part is None:
            return False
        if self.month is not None and self.month != o.month:
            return False
        if self.day is not None and self.day != o.day:
            return False
        if self.part is not None:
            if o.part is not None:
                return o.part == self.part
            if o.month is not None:
                return (o.month >= 7) == (self.part == "end")
            return False
        return True


_PART = {"底": "end", "末": "end", "下半年": "end", "初": "start", "上半年": "start", "第四季度": "end",
         "四季度": "end", "一季度": "start", "第一季度": "start"}
_PART_RE = "下半年|上半年|第四季度|四季度|第一季度|一季度|底|末|初"
_REL = {"今年": 0, "本年": 0, "当年": 0, "年内": 0, "去年": -1, "明年": 1}
_DATE = re.compile(
    rf"(?=\d|今年|本年|当年|年内|去年|明年)(?:(?P<y>(?:19|20)\d{{2}})年|(?P<rel>今年|本年|当年|年内|去年|明年)(?!同期)(?:年(?=底|末|初))?)?"
    rf"(?:(?P<m1>\d{{1,2}})[—–\-~至到])?(?:(?P<m>\d{{1,2}})月(?:份)?)?(?:(?P<d>\d{{1,2}})日)?"
    rf"(?P<part>{_PART_RE})?")
_BARE_PART = re.compile(rf"(?<![\d年])(?:年底|年末|年初|{_PART_RE[:_PART_RE.index('|底')]})")


@lru_cache(maxsize=8192)
def dates(text: str, base_year: int | None = None) -> tuple[Date, ...]:
    """Dates stated in ``text``; 今年/年内/年底 without a year take ``base_year``."""
    t = norm(text)
    out = []
    for m in _DATE.finditer(t):
        y, rel, mo, d, part = m.group("y"), m.group("rel"), m.group("m"), m.group("d"), m.group("part")
        if not (y or rel or mo or d):
            continue
        if not (y or rel) and mo and int(mo) > 12:
            continue
        if part and not (y or rel) and not mo:
            continue
        year = int(y) if y else (base_year + _REL[rel] if rel and base_year else None)
        out.append(Date(year, int(mo) if mo and int(mo) <= 12 else None, int(d) if d else None,
                        _PART.get(part) if part else None, m.group(0)))
    for m in _BARE_PART.finditer(t):  # 年底前完成 with no year: the proposal's year
        word = m.group(0)
        out.append(Date(base_year, None, None, _PART.get(word[1:] if word.startswith("年") else word), word))
    return tuple(out)


# ---- entities -----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _department_forms() -> tuple[str, ...]:
    forms = set(DEPARTMENTS) | set(_ALIASES) | set(_ALIASES.values())
    return tuple(sorted(forms, key=len, reverse=True))


@lru_cache(maxsize=8192)
def departments(text: str) -> frozenset[str]:
    """Department keys named in ``text`` (市人社局 = 市人力资源和社会保障局)."""
    t = norm(text)
    found: list[tuple[str, int, int]] = []
    for f in _department_forms():  # longest first: 法院 inside 中级人民法院 is not a second one
        start = 0
        while (i := t.find(f, start)) >= 0:
            if not any(a <= i and i + len(f) <= b for _, a, b in found):
                found.append((department_key(f), i, i + len(f)))
            start = i + len(f)
    return frozenset(k for k, _, _ in found)


@lru_cache(maxsize=8192)
def towns(text: str) -> frozenset[str]:
    t = norm(text)
    return frozenset(x for x in TOWNS if x in t)


_TITLE = re.compile(r"《([^《》]{2,60})》")
_QUOTED = re.compile(r"[“\"]([^“”\"]{2,30})[”\"]")


def strip_titles(t: str) -> str:
    return _TITLE.sub(" ", t)


def titles(text: str) -> list[str]:
    return [norm(m.group(1)) for m in _TITLE.finditer(nfkc(text))]


def quoted(text: str) -> list[str]:
    return [norm(m.group(1)) for m in _QUOTED.finditer(nfkc(text))]


_ORG = re.compile("(" + "|".join(sorted(map(re.escape, ORG_SUFFIX), key=len, reverse=True)) + ")")


@lru_cache(maxsize=8192)
def named_bodies(text: str) -> tuple[str, ...]:
    """Proper names ending in a body word ("石碣医院", "东莞理工学院", "黄牛埔水库"): the run of
    name characters before the suffix plus the suffix, at least two characters of name."""
    t = norm(_TITLE.sub("，", nfkc(text)))
    t = _QUOTED.sub("，", t)
    out = []
    for m in _ORG.finditer(t):
        i = m.start()
        j = i
        while j > 0 and (_is_name_char(t[j - 1]) or t[j - 2:j] == "中国") and i - j < 8:
            j -= 1
        if j == i and t[j - 1:j] == "市" and len(m.group(0)) >= 2:
            j -= 1  # 市图书馆, 市人民医院: the city's own
        name = t[j:m.end()]
        for g in GENERIC_PREFIX:  # "相关医院" is no name; "二级以上医院" neither
            k = name.rfind(g)
            if k >= 0:
                name = name[k + len(g):]
        if len(name) - len(m.group(0)) >= 2 or (name.startswith("市") and len(name) > len(m.group(0))):
            out.append(name)
    return tuple(out)


def body_word(name: str) -> str:
    return next((m.group(0) for m in _ORG.finditer(name) if m.end() == len(name)), "")


def _is_name_char(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" and c not in _NOT_NAME


def name_supported(name: str, evidence: str, suffix_len: int | None = None) -> bool:
    """A name stands in the evidence when its last two name characters and suffix do (市人民医院
    is 人民医院; 石龙医院 is not 石碣医院)."""
    m = _ORG.search(name)
    slen = len(m.group(0)) if m else 2
    # the suffix found last in the name
    for mm in _ORG.finditer(name):
        slen = len(mm.group(0)) if mm.end() == len(name) else slen
    k = min(len(name), slen + 2)
    return name[-k:] in evidence


# ---- people ---------------------------------------------------------------------------------
# a person named as a proposal's author: "郑国华委员提出", "郑国华等3名委员", "提案者为郑国华、曾丽萍"
_MEMBER = re.compile(r"([\u4e00-\u9fff]{2,3})(?:等(?:\d+|[一二三四五六七八九十]+)?[名位]?)?委员(?!会)")
_PROPOSER = re.compile(r"提案者(?:是|为|有)?[：:]?\s*([\u4e00-\u9fff]{2,4}(?:[、和与及][\u4e00-\u9fff]{2,4})*)")
# a name starts with a surname: the hundred commonest, which keeps "专家委员", "主任委员" out
SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
                     "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
                     "向汤温欧麦区关植冼翟游")


def _person(capture: str) -> str | None:
    """The name in a capture of 2–3 characters before 委员 (or one part of a proposers list):
    a three-character capture may have taken the character before the name ("是王伟"); a longer
    one is not read (an organisation, or a name run into the next word)."""
    capture = capture.removesuffix("等")
    if not 2 <= len(capture) <= 3:
        return None
    if capture[0] in SURNAMES:
        return capture
    if len(capture) == 3 and capture[1] in SURNAMES:
        return capture[1:]
    return None


@lru_cache(maxsize=8192)
def people(text: str) -> tuple[str, ...]:
    """People a sentence names as a proposal's authors (not 政协委员, 民建委员 or 专家委员)."""
    t = norm(text)
    found = [m.group(1) for m in _MEMBER.finditer(t)]
    for m in _PROPOSER.finditer(t):
        found += re.split(r"[、和与及]", m.group(1))
    return tuple(dict.fromkeys(n for n in map(_person, found) if n))


def person_supported(name: str, evidence: str) -> bool:
    """The name stands in the evidence (a cited chunk's proposers are in its identity), or,
    for a three-character capture, its last two characters do."""
    return name in evidence or (len(name) == 3 and name[1:] in evidence)


# ---- clauses and their modality -------------------------------------------------------------
_CLAUSE_SPLIT = re.compile(r"[，,；;。！？!?：:\n]+")


@lru_cache(maxsize=8192)
def clauses(text: str) -> tuple[str, ...]:
    """Clauses of ``text``, normalised (so 1,000 is one number, not two clauses)."""
    return tuple(c for c in (x.strip() for x in _CLAUSE_SPLIT.split(norm(text))) if c)


def has_any(text: str, words) -> list[str]:
    return [w for w in words if w in text]


def done_claim(clause: str, where: str = "") -> list[str]:
    """The words of ``clause`` that state something as done and that ``where`` (the paragraph
    clause it rests on) does not say in the same form: "实现全覆盖" quoting "实现全覆盖" claims
    no more than the paragraph does; "实现了" or "已实现" for "力争实现" does."""
    out = []
    for w in DONE_CLAIM:
        for m in re.finditer(re.escape(w) + "(了)?", clause):
            if m.group(0) not in where or (w != "已" and "已" + w in clause and "已" + w not in where):
                out.append(w)
    return out


def universal_claim(clause: str) -> list[str]:
    return UNIVERSAL.findall(clause)


def universal_support(clause: str) -> bool:
    return bool(UNIVERSAL_SUPPORT.search(clause))
