"""The command line's own words in Chinese: usage line, panel titles, the help option and
parameter errors (Typer prints these in English; every command's texts are written in Chinese
where the command is defined)."""
from __future__ import annotations

import re
import sys

import typer
import typer.rich_utils as ru
from typer import Abort
from typer._click.exceptions import BadParameter, ClickException, MissingParameter, NoSuchOption, UsageError
from typer.core import TyperCommand, TyperGroup

HELP_OPTION = "显示本帮助并退出。"
_VALUE_ERRORS = [  # Typer's messages for a bad value → Chinese
    (re.compile(r"^(.+?) is not one of (.+?)\.?$"), r"\1 不是可选值（可选：\2）"),
    (re.compile(r"^(.+?) is not (.+?)\.?$"), r"\1 不是可选值（只能是 \2）"),
    (re.compile(r"^Value error, (.*)$"), r"\1"),
    (re.compile(r"^Input should be a valid integer.*$"), "应为整数"),
    (re.compile(r"^Input should be a valid number.*$"), "应为数字"),
    (re.compile(r"^Value (.+?) is not a valid int(eger)?\.?$"), r"\1 不是整数"),
    (re.compile(r"^Value (.+?) is not a valid float\.?$"), r"\1 不是数字"),
    (re.compile(r"^Value (.+?) is not a valid (\w+)\.?$"), r"\1 不是有效的 \2"),
    (re.compile(r"^Got unexpected extra arguments? \((.*)\)$"), r"多余的参数：\1"),
    (re.compile(r"^Missing command\.?$"), "缺少命令"),
    (re.compile(r"^No such command '?(.+?)'?\.?$"), r"没有命令 \1"),
]


TYPE_ZH = {"<bool>": "", "<str>": "<文本>", "<text>": "<文本>", "<int>": "<整数>", "<integer>": "<整数>",
           "<float>": "<数字>", "<path>": "<路径>"}


def _type_zh(method):
    def display_type_rich(self, *a, **kw):
        shown = method(self, *a, **kw)
        if not isinstance(shown, str):
            return shown
        m = re.fullmatch(r"<list\[(\w+)\]>", shown)  # a repeatable argument: its metavar ends in ...
        return TYPE_ZH.get(f"<{m.group(1).lower()}>", "") if m else TYPE_ZH.get(shown.lower(), shown)
    return display_type_rich


def _install_words() -> None:
    from typer.core import TyperArgument, TyperOption

    for cls in (TyperArgument, TyperOption):
        if not getattr(cls.display_type_rich, "_zh", False):
            cls.display_type_rich = _type_zh(cls.display_type_rich)
            cls.display_type_rich._zh = True  # type: ignore[attr-defined]
    ru.ARGUMENTS_PANEL_TITLE, ru.OPTIONS_PANEL_TITLE, ru.COMMANDS_PANEL_TITLE = "参数", "选项", "命令"
    ru.ERRORS_PANEL_TITLE, ru.ABORTED_TEXT = "错误", "已中止。"
    ru.DEFAULT_STRING, ru.ENVVAR_STRING, ru.REQUIRED_LONG_STRING = "[默认：{}]", "[环境变量：{}]", "[必填]"
    ru.RICH_HELP = "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。"


def value_error_zh(message: str) -> str:
    message = message.strip()
    for pat, zh in _VALUE_ERRORS:
        m = pat.match(message)
        if m:
            message = m.expand(zh)  # keep going: "Value error, " wraps another message
    return message


def error_zh(e: ClickException) -> str:
    if isinstance(e, MissingParameter):
        kind = "参数" if (e.param is not None and e.param.param_type_name == "argument") else "选项"
        hint = e.param.get_error_hint() if e.param is not None else ""
        return f"缺少{kind} {hint}".strip()
    if isinstance(e, NoSuchOption):
        return f"没有选项 {e.option_name}" + (f"（是否想输入 {'、'.join(e.possibilities)}？）" if e.possibilities else "")
    if isinstance(e, BadParameter):
        hint = e.param_hint if isinstance(e.param_hint, str) else (
            " / ".join(e.param_hint) if e.param_hint else (e.param.get_error_hint() if e.param is not None else ""))
        return f"{hint} 的取值无效：{value_error_zh(e.message)}" if hint else f"取值无效：{value_error_zh(e.message)}"
    return value_error_zh(e.format_message())


class _Zh:
    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None:
            opt.help = HELP_OPTION
        return opt

    def get_usage(self, ctx) -> str:
        return super().get_usage(ctx).replace("Usage: ", "用法：", 1)  # type: ignore[misc]


class ZhCommand(_Zh, TyperCommand):
    pass


class ZhGroup(_Zh, TyperGroup):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from rich.console import Console

        err = Console(stderr=True, soft_wrap=True)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except UsageError as e:
            if e.ctx is not None:
                err.print(e.ctx.get_usage(), highlight=False, markup=False)
                err.print(f"运行 '{e.ctx.command_path} --help' 查看帮助。", highlight=False, markup=False)
            err.print(f"[red]错误：[/red]{error_zh(e)}", highlight=False)
            sys.exit(e.exit_code)
        except ClickException as e:
            err.print(f"[red]错误：[/red]{error_zh(e)}", highlight=False)
            sys.exit(e.exit_code)
        except Abort:
            err.print("已中止。")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class ZhTyper(typer.Typer):
    """A Typer app whose commands print their usage, help option and errors in Chinese."""

    def __init__(self, **kw):
        _install_words()
        super().__init__(cls=ZhGroup, **kw)

    def command(self, *args, cls=None, **kw):
        return super().command(*args, cls=cls or ZhCommand, **kw)
