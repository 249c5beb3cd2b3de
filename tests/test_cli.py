"""The `python -m bot ask` contract, run as a real subprocess against a real index."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import ANSWER_FIELDS, PYTHON, ROOT

pytestmark = pytest.mark.slow
FIELDS = {"id", *ANSWER_FIELDS}  # a batch line: its id plus the answer contract


def run(args, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, timeout=300, **kw
    )


def test_ask_json_prints_one_object(cli_env):
    p = run(["ask", "--json", "--no-log", "oppo维修后换的配件保修多久"], cli_env)
    assert p.returncode == 0, p.stderr.decode()
    (line,) = p.stdout.decode().splitlines()
    obj = json.loads(line)
    assert set(obj) == FIELDS
    assert obj["outcome"] == "answered" and "90天" in obj["answer"]
    assert obj["citations"][0]["doc_id"] == "oppo-warranty"
    assert set(obj["citations"][0]) == {
        "doc_id",
        "title",
        "source",
        "source_title",
        "locator",
        "text",
    }


def test_ask_human_output_names_sources(cli_env):
    p = run(["ask", "--no-log", "手机屏幕碎了要几天内报修"], cli_env)
    assert p.returncode == 0
    out = p.stdout.decode()
    assert "7日" in out and "来源" in out


def test_batch_keeps_sessions_and_prints_only_json(cli_env, tmp_path):
    f = tmp_path / "q.jsonl"
    lines = [
        {"id": "a1", "question": "客服电话多少?", "session": "s1"},
        {"id": "a2", "question": "奥普的", "session": "s1"},
        {"id": "b1", "question": "我要转人工", "session": "s2"},
        {"id": "c1", "question": "今天北京天气怎么样"},
    ]
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    p = run(["ask", "--json", "--batch", str(f), "--no-log"], cli_env)
    assert p.returncode == 0, p.stderr.decode()
    out = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["a1", "a2", "b1", "c1"]
    assert all(set(o) == FIELDS for o in out)
    by = {o["id"]: o for o in out}
    assert by["a1"]["outcome"] == "clarify" and by["a1"]["ticket_id"] is None
    assert by["a2"]["outcome"] == "answered"
    assert by["a2"]["citations"][0]["doc_id"].startswith("aupu-")
    assert not any(
        ch.isdigit() for ch in by["a2"]["answer"].replace("400", "")
    )  # no invented number
    assert by["b1"]["outcome"] == "escalated" and by["b1"]["ticket_id"].startswith("KF-")
    assert by["c1"]["outcome"] == "refused" and by["c1"]["ticket_id"] is None


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"id": 1, "question": "ok"}\nnot json\n', "q.jsonl:2: not a JSON object"),
        (b'{"id": 1}\n', 'q.jsonl:1: each line needs "id" and "question"'),
        (b'{"id": 1, "question": "   "}\n', "q.jsonl:1: 问题不能为空"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "q.jsonl:1: not valid UTF-8"),
        (b"", "batch file has no questions"),
    ],
)
def test_bad_batch_files_fail_clearly_and_print_nothing(cli_env, tmp_path, content, message):
    f = tmp_path / "q.jsonl"
    f.write_bytes(content)
    p = run(["ask", "--json", "--batch", str(f)], cli_env)
    assert p.returncode == 2
    assert p.stdout == b""
    assert message in p.stderr.decode()


def test_missing_batch_file(cli_env, tmp_path):
    p = run(["ask", "--json", "--batch", str(tmp_path / "nope.jsonl")], cli_env)
    assert p.returncode == 2 and p.stdout == b"" and "not found" in p.stderr.decode()


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "问题不能为空"),
        ("   \t ", "问题不能为空"),
        ("保修" * 5000, "问题过长"),
        ("\udcff\udcfe\udc89PNG\udc80" * 10, "无法识别的输入"),
    ],
)
def test_bad_questions_fail_clearly_and_write_nothing(cli_env, real_index, question, message):
    log = real_index / "chat_log.jsonl"
    before = log.read_bytes() if log.exists() else None
    p = run(["ask", "--json", question], cli_env)
    assert p.returncode == 2
    assert p.stdout == b""
    assert message in p.stderr.decode(errors="replace")
    assert (log.read_bytes() if log.exists() else None) == before


def test_missing_index_says_which_command_to_run(cli_env, tmp_path):
    env = {**cli_env, "KEFU_DATA_DIR": str(tmp_path / "empty")}
    p = run(["ask", "--json", "OPPO保修多久"], env)
    assert p.returncode == 3 and p.stdout == b""
    lines = p.stderr.decode().strip().splitlines()
    assert "python ingest.py" in lines[-1]


def test_stale_index_is_detected(cli_env, tmp_path, knowledge_copy):
    p = knowledge_copy / "docs" / "oppo-fees.md"
    p.write_text(p.read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")
    env = {**cli_env, "KEFU_KNOWLEDGE_DIR": str(knowledge_copy)}
    r = run(["ask", "--json", "OPPO保修多久"], env)
    assert (
        r.returncode == 3
        and "已过期" in r.stderr.decode()
        and "python ingest.py" in r.stderr.decode()
    )
