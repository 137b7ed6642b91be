"""Department names as users type them: the forms, and cutting them out of a question."""
from rag.core.departments import cut_department, department_key, department_variants


def test_one_department_has_one_key_however_it_is_written():
    assert {department_key(n) for n in ("东莞市卫生健康局", "市卫生健康局", "卫生健康局", "卫健局")} == {"卫健局"}


def test_forms_come_longest_first_so_no_prefix_is_left_behind():
    forms = department_variants("东莞市卫生健康局")
    assert "市卫生健康局" in forms and "卫生健康局" in forms and "卫健局" in forms
    assert [len(f) for f in forms] == sorted((len(f) for f in forms), reverse=True)
    # the short form alone would leave "市" of "市卫生健康局" behind
    assert cut_department("市卫生健康局怎么答复普惠托育的建议？", "东莞市卫生健康局") == "怎么答复普惠托育的建议？"
    assert cut_department("市卫健局对托育怎么说", "东莞市卫生健康局", "，") == "，对托育怎么说"


def test_no_department_leaves_the_text_alone():
    assert cut_department("托育补贴是多少？", None) == "托育补贴是多少？"
