"""What a question asks for (rag.answer.asks): the kind of figure, its focus and subject, and the
checks that keep the extractive answerer from quoting a figure of something else."""
from __future__ import annotations

import pytest

from rag.answer.asks import answers, asks, gives_kind, money_of_other, names_of_kind, subject_share
from rag.core.types import Chunk, Hit

CORPUS_WORDS = {"寒溪河", "溪河", "寮步", "步段", "浓度", "氨氮", "投资", "总投资", "麻涌", "地下", "调蓄", "试点",
                "排涝", "补助", "标准", "医养", "结合", "机构", "床位", "垃圾", "焚烧", "东莞", "全市", "生活"}


def known(word: str) -> bool:
    return word in CORPUS_WORDS


def idf(word: str) -> float:
    return 1.0 if word in ("东莞", "全市") else 3.0


@pytest.mark.parametrize("question,kinds", [
    ("麻涌镇地下调蓄池试点的总投资是多少？", ["money"]),
    ("2023年随迁子女就读的比例是多少？", ["share"]),
    ("现在审批一般要多久？", ["duration"]),
    ("洪梅调蓄湖是什么时候完工的？", ["date"]),
    ("我市医养结合机构有多少家？床位多少张？", ["count:家", "count:张"]),
    ("排涝计划投多少钱、建设改造多少座泵站？", ["money", "count:座"]),
    ("排涝流量是多少？", [None]),
    ("智慧停车项目由哪家公司负责运营？", ["name:公司"]),
    ("指导中心设在哪家医院？", ["name:医院"]),
    ("轻轨计划哪一年建成通车？", ["date"]),
    ("专项补助资金最终的执行率是多少？", ["share"]),  # the nearest noun (执行率), not 资金 further off
    ("员额制试点选在哪几个镇街？", []),  # which ones: names, not a count
    ("员额制试点选了几个镇街？", ["count:个"]),
])
def test_kind_of_figure_per_question_word(question, kinds):
    assert [a.kind for a in asks(question)] == kinds


def test_a_clause_that_leans_on_an_earlier_one_has_no_focus_of_its_own():
    """"…给民办园老师设从教津贴，…标准是多少？" is answered by "发放从教津贴每人每月300元"."""
    *_, last = asks("民进东莞市委提出给民办园老师设从教津贴，教育局采纳了吗？标准是多少？")
    assert last.focus == ()
    [own] = asks("东莞长期护理保险的个人缴费标准是多少？")
    assert own.focus == ("标准",) and own.kind == "money"


def test_focus_qualifiers_and_subject():
    [a] = asks("寒溪河寮步段的化学需氧量浓度同比下降了多少？")
    assert a.focus == ("浓度",)
    assert "需氧量" in a.qualifiers and "浓度" not in a.qualifiers
    assert "寮步" in a.subject or "步段" in a.subject
    [b] = asks("2023年东莞全市生活垃圾焚烧发电量是多少？")
    assert b.years == ("2023",)


@pytest.mark.parametrize("kind,sentence,ok", [
    ("money", "累计完成投资约14.2亿元。", True),
    ("money", "分值占比由5%提高到12%。", False),
    ("share", "办结率达到96.5%。", True),
    ("count:家", "剩余15所列入整改清单。", True),   # 家 is answered by 所
    ("count:张", "全市医养结合机构增至21家。", False),
    ("count:个", "建成城市阅读驿站28个。", True),
    ("date", "（一）结合1号线一期建设进度，同步编制接驳规划。", False),  # a list number is no date
    ("date", "工程已于2023年6月完工。", True),
    ("duration", "平均用时由7天缩短至3天。", True),
    ("money", "印发《东莞市补助办法(2021—2023年)》。", False),  # a year in a title is no figure
])
def test_gives_kind(kind, sentence, ok):
    assert gives_kind(kind, sentence) is ok


def test_which_company_is_answered_by_a_name_the_question_does_not_give():
    [a] = asks("智慧停车项目由哪家国有企业负责运营？")
    assert a.kind == "name:企业" and a.focus == ()
    assert gives_kind(a.kind, "项目由东莞市交通投资集团负责建设运营。", a.clause)
    # the question's own words are no answer, nor is a sentence that names no one
    assert not gives_kind(a.kind, "停车设施由镇街统一规划、国有企业投资建设。", a.clause)
    assert not gives_kind(a.kind, "全市已建成智慧停车泊位1.2万个。", a.clause)
    [h] = asks("指导中心设在哪家医院？")
    assert gives_kind(h.kind, "依托市妇幼保健院设立指导中心。", h.clause)


def test_a_category_is_no_name():
    """"由保险公司委托…" says what kind of body, not which one: jieba's dictionary holds the
    category as one word, while a name is several ("东莞巴士/有限公司")."""
    [a] = asks("电梯维保由哪家公司负责？")
    assert not gives_kind(a.kind, "由保险公司委托第三方机构开展维保质量抽查。", a.clause)
    assert not gives_kind(a.kind, "由物业公司负责日常维护。", a.clause)
    assert gives_kind(a.kind, "由东莞巴士有限公司负责日常维护。", a.clause)



@pytest.mark.parametrize("kind,sentence,names", [
    ("企业", "督促物业服务企业做好加装电梯后的日常管理。", []),  # an activity before the kind: a category
    ("企业", "鼓励电梯生产企业提供全生命周期服务。", []),
    ("公司", "委托专业运营公司负责日常运营。", []),
    ("集团", "由东莞市建设投资集团负责建设。", ["东莞市建设投资集团"]),  # a proper noun opens a name
    ("医院", "由市妇幼保健院负责。", ["妇幼保健院"]),
])
def test_an_activity_before_the_kind_makes_a_name_only_after_a_proper_noun(kind, sentence, names):
    assert names_of_kind(kind, sentence) == names


def test_a_figure_of_another_subject_does_not_answer():
    [a] = asks("麻涌镇地下调蓄池试点的总投资是多少？")
    other = "洪梅镇新庄排涝站、望牛墩镇芙蓉沙排涝站改造工程正在加紧施工,累计完成投资约14.2亿元。"
    same = "麻涌镇地下调蓄池试点总投资约3.6亿元。"
    assert not answers(a, other, "", known, idf)
    assert answers(a, same, "", known, idf)


def test_a_differently_qualified_focus_does_not_answer():
    """氨氮浓度 is not 化学需氧量浓度, though both are 浓度 of the same river."""
    [a] = asks("寒溪河寮步段的化学需氧量浓度同比下降了多少？")
    assert not answers(a, "2024年上半年，寒溪河寮步段水质均值达到地表水Ⅳ类，氨氮浓度同比下降21.3%。", "", known, idf)
    assert answers(a, "寒溪河寮步段化学需氧量浓度同比下降12.0%。", "", known, idf)


def test_a_differently_qualified_compound_does_not_answer():
    [a] = asks("市水务局2024年河长制工作经费是多少？")
    assert a.focus == ("经费",)
    assert not answers(a, "每年安排管养经费1850万元。", "", lambda t: True, idf)
    assert answers(a, "2024年安排河长制工作经费1200万元。", "", lambda t: True, idf)


@pytest.mark.parametrize("question, sentence, other", [
    ("新建体育馆的总投资是多少？", "体育馆建成后年运营收入约800万元。", True),           # income, not investment
    ("志愿讲师每节课的课酬是多少？", "市财政安排专项经费300万元，按每个站点每年5万元给予补助。", True),
    ("新建体育馆的总投资是多少？", "体育馆项目总投资约12亿元。", False),
    ("对加装电梯的补贴是每台多少钱？", "对既有住宅加装电梯给予每台15万元补助。", False),  # 补贴 ~ 补助: one thing
    ("政府每月额外给多少钱？", "每月另发岗位津贴500元。", False),                      # 钱 names nothing
    ("新建体育馆的总投资是多少？", "按《体育设施建设补贴办法》已完成12个项目。", False),  # no money stated; a title is no figure
    ("新建体育馆有多少个座位？", "体育馆年运营收入约800万元。", False),               # money is not asked
])
def test_money_of_another_thing_does_not_answer(question, sentence, other):
    wanted = asks(question)
    assert money_of_other(wanted, sentence) is other
    if other:
        assert not any(answers(a, sentence, "", lambda t: True, idf) for a in wanted)


def test_a_figure_of_another_year_does_not_answer():
    [a] = asks("2023年东莞全市生活垃圾焚烧发电量是多少？")
    assert not answers(a, "2020年全市生活垃圾焚烧发电量约9.6亿千瓦时。", "", known, idf)
    assert answers(a, "2023年全市生活垃圾焚烧发电量约12.1亿千瓦时。", "", known, idf)


def test_subject_share_weights_rare_words_and_keeps_paraphrases():
    # "每亩" ~ "亩均": half its characters are there
    assert subject_share(("每亩",), "亩均税收不低于50万元", idf) == pytest.approx(0.5)
    # the common words alone say little
    assert subject_share(("东莞", "垃圾", "焚烧"), "东莞市充电桩5万个", idf) == pytest.approx(1 / 7)
    assert subject_share(("2023",), "anything", idf) == 1.0  # years are checked separately


# ---- the extractive answerer's use of the asks ------------------------------------------

def _hit(section: str, n: int, text: str, score: float) -> Hit:
    dep = "市政务服务数据管理局" if section == "reply" else None
    cid = f"20230611:{section}:{'政数局:' if dep else ''}{n}"
    return Hit(Chunk(id=cid, proposal_id="20230611", year=2023, title="关于推进政务数据共享的建议",
                     section=section, n=str(n), text=text, proposers="民盟东莞市委", department=dep), score)


def _answerer():
    from rag.answer.extractive import ExtractiveAnswerer
    from tests.test_selector import e5_similarity

    return ExtractiveAnswerer(lambda t: 2.0, known=lambda t: True, similarity=e5_similarity())


def test_a_question_about_now_is_answered_by_the_reported_change():
    hits = [_hit("content", 2, "数据需求方申请共享流程长、审批环节多,平均审批时间超过15个工作日;", 1.0),
            _hit("reply", 3, "我局优化共享申请审批流程,平均审批时长由15.6个工作日压缩至3.2个工作日。", 0.9)]
    ans = _answerer().draft("数据共享审批现在一般要多久？", hits)
    assert not ans.abstained
    assert any(c.section == "reply" and "3.2个工作日" in c.quote for c in ans.citations)


def test_item_headings_do_not_take_a_sentences_place():
    from rag.answer.extractive import is_item_heading

    assert is_item_heading("一、推进公交场站充电设施建设。") and is_item_heading("（3）建设新型阅读空间。")
    assert not is_item_heading("（一）到2022年底，全市城市阅读驿站增至50个以上。")
    assert not is_item_heading("全市已实现公交车100%纯电动化。")


def test_each_quoted_sentence_has_its_own_marker_and_quote():
    text = "（二）推进数据共享。共享平台已接入81个单位。2023年1—8月数据共享调用量达4.6亿次。"
    ans = _answerer().draft("数据共享平台接入了多少个单位？调用了多少次？", [_hit("reply", 2, text, 1.0)])
    assert [c.marker for c in ans.citations] == [str(i) for i in range(1, len(ans.citations) + 1)]
    for c in ans.citations:
        assert c.quote in text and f"{c.quote}[{c.marker}]" in ans.answer


def test_one_noun_the_corpus_never_uses_makes_an_uncovered_topic():
    from rag.answer.asks import uncovered_topic

    q = "随迁子女在东莞参加中考有什么新政策？"
    def unknown(*words):
        return lambda t: t not in words

    assert uncovered_topic(q, "2023年修订《东莞市积分制入学管理办法》,提高社保缴纳年限的积分权重。", unknown("中考")) == "中考"
    # the answer names it, if only by a character: not uncovered
    assert uncovered_topic(q, "中招考试报名放开户籍限制。", unknown("中考")) is None
    # several unknown words: a colloquial paraphrase, left to the other rules
    assert uncovered_topic(q, "提高积分权重。", unknown("中考", "随迁")) is None
    # a verb, or a department, is not a topic
    assert uncovered_topic("为方便市民看病开通的专线是哪几条？", "开通3条专线。", unknown("看病")) is None
    assert uncovered_topic("民政部门分别给多少补助？", "每个补助20万元。", unknown("民政部门")) is None


@pytest.mark.parametrize("question,word", [
    ("监管服务平台叫什么名字？", "名字"),
    ("“中央厨房”模式是在哪几个地方试点的？", "地方"),
    ("补贴覆盖哪些群体？", "群体"),
])
def test_the_noun_a_question_word_governs_is_no_uncovered_topic(question, word):
    """"叫什么名字", "哪几个地方", "哪些群体" say what kind of answer is wanted, not what it is about."""
    from rag.answer.asks import uncovered_topic

    assert uncovered_topic(question, "上线“莞充电”平台。", lambda t: t != word) is None
    # the same noun elsewhere in a question still names a topic
    assert uncovered_topic(f"{word}的问题有部门答复过吗？", "上线“莞充电”平台。", lambda t: t != word) == word


def test_which_ones_asks_for_no_number():
    from rag.core.lexicon import ASKS_NUMBER

    assert ASKS_NUMBER.search("试点选在哪几个镇街？") is None
    assert ASKS_NUMBER.search("试点选了几个镇街？")


def test_a_question_word_is_never_an_uncovered_topic(monkeypatch):
    """jieba may keep "多少钱" whole (it does once domain words have been added)."""
    import rag.answer.asks
    from rag.answer.asks import uncovered_topic

    monkeypatch.setattr(rag.answer.asks, "key_terms", lambda q: ["加装", "电梯", "市级", "补贴", "每台", "多少钱"])
    assert uncovered_topic("加装电梯的市级补贴标准现在是每台多少钱？", "由每台10万元提高至每台15万元。",
                           lambda t: t != "多少钱") is None
