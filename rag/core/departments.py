"""Loose department names: 科技局 = 市科技局 = 市科学技术局 = 东莞市科学技术局."""
from __future__ import annotations

import re
import unicodedata

# Long official forms → the short forms people type. Applied after the city prefix is gone.
_ALIASES = {
    "科学技术局": "科技局",
    "工业和信息化局": "工信局",
    "人力资源和社会保障局": "人社局",
    "人力资源社会保障局": "人社局",
    "文化广电旅游体育局": "文广旅体局",
    "卫生健康局": "卫健局",
    "卫生和健康局": "卫健局",
    "住房和城乡建设局": "住建局",
    "住房城乡建设局": "住建局",
    "政务服务数据管理局": "政数局",
    "发展和改革局": "发改局",
    "城市管理和综合执法局": "城管局",
    "城市管理综合执法局": "城管局",
    "市场监督管理局": "市监局",
    "市场监管局": "市监局",
    "交通运输局": "交通局",
    "农业农村局": "农业农村局",
    "生态环境局": "生态环境局",
    "自然资源局": "自然资源局",
    "医疗保障局": "医保局",
    "应急管理局": "应急局",
}
_PREFIX = re.compile(r"^(广东省)?(东莞市|东莞)?(市(?!场))?")


def department_key(name: str | None) -> str:
    """A canonical key for a department name; equal keys mean the same department."""
    if not name:
        return ""
    s = unicodedata.normalize("NFKC", name).strip().replace(" ", "")
    s = _PREFIX.sub("", s, count=1) or s
    return _ALIASES.get(s, s)


def department_variants(name: str) -> tuple[str, ...]:
    """Surface forms a user may type for ``name`` (used to spot departments in questions),
    longest first: replacing a short form first ("卫生健康局") would leave a stray "市"."""
    key = department_key(name)
    forms = {name, key, "市" + key}
    for long, short in _ALIASES.items():
        if short == key:
            forms |= {long, "市" + long}
    bare = _PREFIX.sub("", name, count=1)
    forms |= {bare, "市" + bare}
    return tuple(sorted((f for f in forms if len(f) >= 2), key=lambda f: (-len(f), f)))


def cut_department(text: str, department: str | None, by: str = "") -> str:
    """``text`` with every form of the department's name replaced by ``by``."""
    for f in department_variants(department) if department else ():
        text = text.replace(f, by)
    return text
