"""Each ``ErrorCode`` in plain Chinese: the words the CLI, the app and the API show users.

Templates take the error's ``params``; a missing value leaves the generic sentence."""
from __future__ import annotations

from rag.core.errors import ErrorCode as E
from rag.core.errors import IngestError, ProposalError

WORDS: dict[E, str] = {
    E.NO_SUCH_FILE: "文件不存在",
    E.CANNOT_READ: "无法读取文件",
    E.UNSUPPORTED_TYPE: "不支持的文件类型（只接受 .txt、.jsonl、.docx 或 .pdf）",
    E.EMPTY_FILE: "文件是空的",
    E.FILE_TOO_LARGE: "文件过大（上限 {limit_mb} MB）",
    E.BINARY_FILE: "这是二进制文件，不是文本格式的提案",
    E.UNDECODABLE: "文件编码无法识别（既不是 UTF-8 也不是 GB18030）",
    E.NO_CASE_LINE: "缺少“案由”行：文件应以“案由:(提案编号)标题”开头",
    E.NO_PROPOSAL_ID: "“案由”行缺少括号内的 8 位提案编号",
    E.TEXT_BEFORE_CONTENT: "“内容”标题之前出现了多余文字",
    E.SALUTATION_WITHOUT_DEPARTMENT: "“尊敬的…”称呼行之前缺少答复部门名称",
    E.REPLY_WITHOUT_DEPARTMENT: "答复正文之前缺少答复部门名称",
    E.EMPTY_REPLY: "{department} 的答复没有正文",
    E.NO_BODY: "没有找到“内容”或“建议”部分",
    E.PARAGRAPH_TOO_LONG: "有段落过长（超过 2 万字）",
    E.DUPLICATE_ID: "提案 {id} 与 {other} 重复，已跳过此份",
    E.ALREADY_INDEXED: "提案 {id} 已由另一个文件导入，此份已跳过（要替换请使用 --replace）",
    E.BROKEN_LINK: "符号链接指向的文件不存在",
    E.INVALID_JSON: "JSON 格式错误",
    E.NOT_AN_OBJECT: "每一行必须是一个 JSON 对象",
    E.MISSING_FIELD: "缺少必填字段 {field}",
    E.BAD_FIELD: "字段 {field} 的值不合要求",
    E.BAD_ID: "字段 id 必须是 8 位数字（年份+序号）",
    E.NOTHING_TO_OUTLINE: "提案中没有“建议”或“内容”段落，无法起草提纲",
    E.NOT_A_PROPOSAL: "文档中既没有“案由”也没有“建议”，不像是一件提案",
    E.NO_TEXT_LAYER: "PDF 没有文字层（可能是扫描件），请先做文字识别或从原文档导出",
    E.ENCRYPTED_PDF: "PDF 已加密，请另存一份未加密的副本",
    E.UNREADABLE_DOCUMENT: "无法读取这个 {kind} 文件",
    E.EMPTY_QUESTION: "请先输入问题。",
    E.QUESTION_TOO_LONG: "问题过长：{chars} 个字，上限为 {limit} 个字，请精简问题。",
    E.QUESTION_NOT_TEXT: "问题必须是文字。",
    E.QUESTION_NOT_UTF8: "问题第 {position} 个字符处含有无法识别的字节（不是 UTF-8 文本），请检查终端的编码设置。",
    E.BAD_REQUEST: "请求无法处理，请检查输入。",
    E.NO_DEPARTMENT: "请填写起草答复的部门名称。",
    E.UNKNOWN_PROPOSAL: "提案库中没有编号为 {id} 的提案。",
    E.NOTHING_TO_ALIGN: "提案 {id} 没有可对照的{what}。",
    E.BAD_DATASET: "评测数据有误：{where}",
    E.CONFIG: "服务配置有误，请联系管理员。",
    E.STORE: "无法读写提案库的数据目录（磁盘已满或没有权限）。请联系管理员。",
    E.WRITER_BUSY: "另一个进程正在写入这个数据目录（内嵌的 Chroma 只允许一个写入进程）：请在应用的「资料库」导入，或先停止应用，或改用 Chroma 服务器（CHROMA_HOST）。",
    E.NO_SPACE: "磁盘空间不足，本次导入没有改动任何数据：请释放磁盘空间后重新导入。",
    E.INDEX_MISMATCH: "提案库的索引不完整（可能上次导入被中断）。请在「资料库」重新导入文件，或由管理员运行 proposals rebuild。",
    E.NO_INDEX: "提案库还是空的：请先在「资料库」上传提案文件，或点击「载入示例提案」。",
    E.LLM: "大模型调用失败，请稍后重试，或改用离线抽取式答案。",
    E.OTHER: "出现了意外错误，请稍后重试；如果反复出现，请联系管理员查看服务日志。",
}
INTERNAL = WORDS[E.OTHER]


def words(e: ProposalError) -> str:
    """The error in Chinese; for a file, what is wrong with it (the edge adds the name and line)."""
    template = WORDS.get(e.code, INTERNAL)
    try:
        return template.format(**e.params)
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：: ") or INTERNAL


def where(e: IngestError) -> str:
    """``file:line`` of a file error, as the CLI and the app name it."""
    return f"{e.path}:{e.line}" if e.line else e.path
