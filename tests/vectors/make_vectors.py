#!/usr/bin/env python3
"""Make the wanqi wire protocol v1 golden vectors (tests/vectors/*.bin) and
the malformed ones (tests/vectors/bad/*.bin + bad/EXPECTED).

Written from proto/PROTOCOL.md alone, with msgpack produced by hand with
struct.pack, so that the vectors are independent of the C codec (and of any
msgpack library): a C codec that round-trips them byte for byte agrees with
the specification, not merely with itself.

Run from anywhere:  python3 tests/vectors/make_vectors.py
The .bin files are committed; CI does not run this script. If you change a
vector, say why in the commit and update tests/proto/test_msg.c, whose
table of expected field values must match.
"""
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "bad")

# ---- msgpack, the subset v1 uses, smallest forms --------------------------


def uint(v):
    assert 0 <= v < 1 << 64
    if v < 0x80:
        return bytes([v])
    if v < 1 << 8:
        return b"\xcc" + struct.pack(">B", v)
    if v < 1 << 16:
        return b"\xcd" + struct.pack(">H", v)
    if v < 1 << 32:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def sint(v):
    """An int64 cell: non-negative as uint, negative in the smallest signed form."""
    if v >= 0:
        return uint(v)
    if v >= -32:
        return struct.pack(">b", v)
    if v >= -(1 << 7):
        return b"\xd0" + struct.pack(">b", v)
    if v >= -(1 << 15):
        return b"\xd1" + struct.pack(">h", v)
    if v >= -(1 << 31):
        return b"\xd2" + struct.pack(">i", v)
    return b"\xd3" + struct.pack(">q", v)


def raw_str(b):
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 1 << 8:
        return b"\xd9" + struct.pack(">B", n) + b
    if n < 1 << 16:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def s(text):
    return raw_str(text.encode("utf-8"))


def binary(b):
    n = len(b)
    if n < 1 << 8:
        return b"\xc4" + struct.pack(">B", n) + b
    if n < 1 << 16:
        return b"\xc5" + struct.pack(">H", n) + b
    return b"\xc6" + struct.pack(">I", n) + b


def arr(n):
    if n < 16:
        return bytes([0x90 | n])
    if n < 1 << 16:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def mapn(n):
    if n < 16:
        return bytes([0x80 | n])
    if n < 1 << 16:
        return b"\xde" + struct.pack(">H", n)
    return b"\xdf" + struct.pack(">I", n)


NIL = b"\xc0"
TRUE = b"\xc3"


def array(*items):
    return arr(len(items)) + b"".join(items)


def msg(mtype, *fields):
    return array(uint(1), uint(mtype), *fields)


def params(d):
    keys = sorted(d, key=lambda k: k.encode("utf-8"))   # bytewise
    return mapn(len(keys)) + b"".join(s(k) + s(d[k]) for k in keys)


# ---- records (common/record.h): a map in field-table order ----------------

FIELD_ORDER = [
    "type", "agent", "inc", "seq", "date", "recorded", "county", "ent", "by",
    "name", "industry", "address", "above_size", "focus", "cadre",
    "cadres", "method", "findings",
    "category", "severity", "description", "visit",
    "problem", "measures", "goal", "deadline", "status", "note",
    "kind", "content", "channel", "question", "consultation", "answer",
    "class", "reason", "target", "of", "set",
]
UINT_FIELDS = {"inc", "seq", "recorded"}


def record(**fields):
    keys = [k for k in FIELD_ORDER if k in fields]
    assert len(keys) == len(fields), set(fields) - set(keys)
    out = mapn(len(keys))
    for k in keys:
        v = fields[k]
        out += s(k)
        if k in UINT_FIELDS:
            out += uint(v)
        elif isinstance(v, bool):
            out += TRUE if v else b"\xc2"
        elif isinstance(v, list):
            out += array(*[s(x) for x in v])
        else:
            out += s(v)
    return out


AGENT = "130102-01"
INC = 0x9F86D081
ENT = "91130102MA07L5QK9L"


def rec_id(seq):
    return "%s/%08x/%d" % (AGENT, INC, seq)


R_ENTERPRISE = record(type="enterprise", agent=AGENT, inc=INC, seq=15, date="2026-03-02",
                      recorded=1772438400000, county="130102", ent=ENT, by="张伟",
                      name="石家庄长安精密制造有限公司", industry="C3311",
                      address="石家庄市长安区中山东路1号", above_size=True,
                      focus="advanced_manufacturing", cadre="李娜")
R_VISIT = record(type="visit", agent=AGENT, inc=INC, seq=16, date="2026-03-05",
                 recorded=1772697600000, county="130102", ent=ENT, by="张伟",
                 cadres=["张伟", "李娜"], method="field_visit",
                 findings="喷涂车间VOCs收集效率偏低，活性炭未按期更换。\n"
                          "危废暂存间标识不全，台账记录不连续。\n"
                          "企业反映环评手续变更流程不清楚，希望得到指导。")
R_PROBLEM = record(type="problem", agent=AGENT, inc=INC, seq=17, date="2026-03-05",
                   recorded=1772697660000, county="130102", ent=ENT, category="air",
                   severity="general", description="喷涂车间VOCs收集效率偏低", visit=rec_id(16))
R_PLAN = record(type="plan", agent=AGENT, inc=INC, seq=18, date="2026-03-10",
                recorded=1773129600000, county="130102", ent=ENT, problem=rec_id(17),
                measures="更换活性炭并加装在线监控", goal="VOCs达标排放", deadline="2026-04-30")

# ---- the good vectors -------------------------------------------------------

GOOD = {}

GOOD["hello"] = msg(1, s(AGENT), uint(INC), s("wanqi-agent 0.1.0"), uint(14), uint(4))
GOOD["hello_edge"] = msg(1, s("A" * 32), uint(0xFFFFFFFF), s(""), uint(0), uint((1 << 64) - 1))
GOOD["hello_min"] = msg(1, s("x"), uint(1), s("wanqi-agent 0.1.0 (Debian 12, x86_64, 石家庄)"),
                        uint((1 << 63) - 1), uint(0))
GOOD["welcome"] = msg(2, uint(INC), uint(14), uint(4), uint(500), uint(5000))
GOOD["welcome_edge"] = msg(2, uint(1), uint((1 << 63) - 1), uint(0xFFFFFFFF), uint(1000),
                           uint(3600000))
GOOD["welcome_new"] = msg(2, uint(0xFFFFFFFF), uint(0), uint(1), uint(1), uint(1))
GOOD["batch_one"] = msg(3, uint(INC), uint(15), array(binary(R_ENTERPRISE)))
GOOD["batch_several"] = msg(3, uint(INC), uint(15),
                            array(binary(R_ENTERPRISE), binary(R_VISIT), binary(R_PROBLEM),
                                  binary(R_PLAN)))
GOOD["batch_edge"] = msg(3, uint(0xFFFFFFFF), uint((1 << 63) - 2),
                         array(binary(b""), binary(b"\x80")))
GOOD["batch_max"] = msg(3, uint(1), uint(1), array(*[binary(b"\x81\xa1x\x01")] * 1000))
GOOD["ack"] = msg(4, uint(INC), uint(18), array())
GOOD["ack_quarantined"] = msg(4, uint(INC), uint(20), array(
    array(uint(19), uint(19), s("county: 县级代码 130999 不在河北省区划表中 (E_COUNTY)")),
    array(uint(20), uint(17), s("ent: 统一社会信用代码校验位错误: 91130102MA07L5QK9F\n应为 L"))))
GOOD["ack_edge"] = msg(4, uint(1), uint((1 << 63) - 1),
                       array(array(uint((1 << 63) - 1), uint(0xFFFFFFFF), s(""))))
GOOD["error_gap"] = msg(5, uint(22), uint(15), s("batch starts at seq 20, expected 15"))
GOOD["error_auth"] = msg(5, uint(23), uint(0), s(""))
GOOD["error_long"] = msg(5, uint(24), uint(0),
                         s("第一行\n" + "错" * 338))   # exactly 1024 bytes
GOOD["ping"] = msg(6, uint(INC), uint(18), uint(0))
GOOD["ping_edge"] = msg(6, uint(0xFFFFFFFF), uint((1 << 63) - 1), uint((1 << 64) - 1))
GOOD["pong"] = msg(7, uint(INC), uint(18))
GOOD["pong_zero"] = msg(7, uint(1), uint(0))
GOOD["query_summary"] = msg(8, uint(7), s("summary"), params({
    "level": "city", "area": "130100", "from": "2026-01", "to": "2026-11",
    "asof": "2026-11-29"}))
GOOD["query_empty"] = msg(8, uint((1 << 64) - 1), s("agents"), params({}))
GOOD["query_enterprise"] = msg(8, uint(0), s("enterprise"), params({"code": ENT}))
GOOD["query_chinese"] = msg(8, uint(300), s("quarantine"),
                            params({"area": "130000", "agent": AGENT, "备注": "中文参数值"}))
GOOD["result"] = msg(9, uint(7), uint(0), s(""),
                     array(s("area"), s("name"), s("enterprises"), s("note")),
                     array(array(s("130102"), s("长安区"), sint(12), NIL),
                           array(s("130104"), s("桥西区"), sint(0), s("无\n多行")),
                           array(s("130100"), s("石家庄市"), sint(-1), s(""))))
GOOD["result_ints"] = msg(9, uint(1), uint(0), s(""), array(s("v")), array(*[
    array(sint(v)) for v in [0, 127, 128, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32,
                             (1 << 63) - 1, -1, -32, -33, -128, -129, -32768, -32769,
                             -(1 << 31), -(1 << 31) - 1, -(1 << 63)]]))
GOOD["result_empty"] = msg(9, uint(8), uint(0), s(""), array(s("agent"), s("hwm")), array())
GOOD["result_error"] = msg(9, uint(9), uint(25), s("no enterprise " + ENT), array(), array())
GOOD["result_nocols"] = msg(9, uint((1 << 64) - 1), uint(0), s("nothing to show"), array(),
                            array())
# Paging (PROTOCOL.md 5.8, 5.9, 7.3): a QUERY with "limit" and "cursor"; its RESULT has an
# 8th element, next: the cursor of the next page, or "" on the last page.
GOOD["query_paged"] = msg(8, uint(11), s("overdue"), params({
    "area": "130000", "asof": "2026-11-29", "cursor": "r2", "limit": "2"}))
GOOD["result_page"] = msg(9, uint(11), uint(0), s(""), array(s("problem"), s("days_overdue")),
                          array(array(s("130102-01/9f86d081/3"), sint(40)),
                                array(s("130102-01/9f86d081/9"), sint(12))), s("r4"))
GOOD["result_last_page"] = msg(9, uint(12), uint(0), s(""), array(s("problem")), array(), s(""))
GOOD["result_page_error"] = msg(9, uint(13), uint(18), s("limit: 0 is not 1..100000"), array(),
                                array(), s(""))

# ---- the malformed vectors: (name, bytes, expected code, expected field) ---

HELLO = GOOD["hello"]
BADV = []


def bad(name, data, code, field):
    BADV.append((name, data, code, field))


def hello_with(**kw):
    f = dict(agent=s(AGENT), inc=uint(INC), software=s("wanqi-agent 0.1.0"), last_seq=uint(14),
             queued=uint(4))
    f.update(kw)
    return msg(1, f["agent"], f["inc"], f["software"], f["last_seq"], f["queued"])


bad("empty", b"", "E_TRUNCATED", "message")
bad("not_array", b"\x80", "E_TYPE", "message")
bad("str_frame", s("hello"), "E_TYPE", "message")
bad("empty_array", b"\x90", "E_RANGE", "message")
bad("array16_cut", b"\xdc\x00", "E_TRUNCATED", "message")
bad("only_version", array(uint(1)), "E_RANGE", "message")
bad("no_version_bytes", b"\x97", "E_TRUNCATED", "version")
bad("version_2", HELLO[:1] + uint(2) + HELLO[2:], "E_VERSION", "version")
bad("version_0", array(uint(0), uint(1)), "E_VERSION", "version")
bad("version_neg", array(sint(-1), uint(1)), "E_VERSION", "version")
bad("version_big", array(uint(1 << 40)), "E_VERSION", "version")
bad("version_str", array(s("1"), uint(1)), "E_TYPE", "version")
bad("version_2_short", array(uint(2)), "E_VERSION", "version")
bad("type_unknown", array(uint(1), uint(99)), "E_UNKNOWN", "type")
bad("type_zero", array(uint(1), uint(0), uint(1)), "E_UNKNOWN", "type")
# Type 10 is ZBATCH (compressed batches); 11 is the first unknown type.
bad("type_11", array(uint(1), uint(11)), "E_UNKNOWN", "type")
bad("type_neg", array(uint(1), sint(-3)), "E_UNKNOWN", "type")
bad("type_nil", array(uint(1), NIL), "E_TYPE", "type")
bad("type_c1", array(uint(1), b"\xc1"), "E_TYPE", "type")
bad("hello_arity_short", array(uint(1), uint(1), s(AGENT), uint(INC)), "E_RANGE", "hello")
# 8 elements is a HELLO with the optional zstd element (PROTOCOL.md 6.3): too long is 9.
bad("hello_arity_long", arr(9) + HELLO[1:] + array() + uint(0), "E_RANGE", "hello")
bad("hello_truncated", HELLO[:-1], "E_TRUNCATED", "hello.queued")
bad("hello_trailing", HELLO + NIL, "E_TRAILING", "message")
bad("hello_two_messages", HELLO + HELLO, "E_TRAILING", "message")
bad("hello_inc_zero", hello_with(inc=uint(0)), "E_RANGE", "hello.inc")
bad("hello_inc_big", hello_with(inc=uint(1 << 32)), "E_RANGE", "hello.inc")
bad("hello_inc_str", hello_with(inc=s("9f86d081")), "E_TYPE", "hello.inc")
bad("hello_agent_bin", hello_with(agent=binary(AGENT.encode())), "E_TYPE", "hello.agent")
bad("hello_agent_empty", hello_with(agent=s("")), "E_RANGE", "hello.agent")
bad("hello_agent_long", hello_with(agent=s("A" * 33)), "E_RANGE", "hello.agent")
bad("hello_agent_cut", hello_with(agent=b"\xd9\xc8" + b"130102"), "E_TRUNCATED", "hello.agent")
bad("hello_agent_utf8", hello_with(agent=raw_str(b"\xc3\x28")), "E_UTF8", "hello.agent")
bad("hello_agent_newline", hello_with(agent=s("130102\n01")), "E_UTF8", "hello.agent")
bad("hello_software_overlong", hello_with(software=raw_str(b"wanqi\xc0\xaf")), "E_UTF8",
    "hello.software")
bad("hello_software_surrogate", hello_with(software=raw_str(b"\xed\xa0\x80")), "E_UTF8",
    "hello.software")
bad("hello_software_nul", hello_with(software=raw_str(b"wanqi\x00agent")), "E_UTF8",
    "hello.software")
bad("hello_software_cut_han", hello_with(software=raw_str("石家庄".encode()[:-1])), "E_UTF8",
    "hello.software")
bad("hello_software_long", hello_with(software=s("w" * 65)), "E_RANGE", "hello.software")
bad("hello_last_seq_2p63", hello_with(last_seq=uint(1 << 63)), "E_RANGE", "hello.last_seq")
bad("hello_queued_neg", hello_with(queued=sint(-1)), "E_RANGE", "hello.queued")
bad("hello_queued_float", hello_with(queued=b"\xcb" + struct.pack(">d", 4.0)), "E_TYPE",
    "hello.queued")
bad("hello_queued_cut", hello_with(queued=b"\xcf\x00\x00"), "E_TRUNCATED", "hello.queued")
bad("welcome_credit_zero", msg(2, uint(INC), uint(14), uint(0), uint(500), uint(5000)),
    "E_RANGE", "welcome.credit")
bad("welcome_max_batch_1001", msg(2, uint(INC), uint(14), uint(4), uint(1001), uint(5000)),
    "E_RANGE", "welcome.max_batch")
bad("welcome_heartbeat_zero", msg(2, uint(INC), uint(14), uint(4), uint(500), uint(0)),
    "E_RANGE", "welcome.heartbeat_ms")
bad("welcome_hwm_2p63", msg(2, uint(INC), uint(1 << 63), uint(4), uint(500), uint(5000)),
    "E_RANGE", "welcome.hwm")
bad("batch_no_records", msg(3, uint(INC), uint(15), array()), "E_RANGE", "batch.records")
bad("batch_1001_records", msg(3, uint(INC), uint(15), arr(1001)), "E_RANGE", "batch.records")
bad("batch_huge_count", msg(3, uint(INC), uint(15), b"\xdd\xff\xff\xff\xff"), "E_RANGE",
    "batch.records")
bad("batch_records_map", msg(3, uint(INC), uint(15), mapn(1) + s("a") + binary(b"\x80")),
    "E_TYPE", "batch.records")
bad("batch_record_str", msg(3, uint(INC), uint(15), array(binary(R_PLAN), s("x"))), "E_TYPE",
    "batch.records[1]")
bad("batch_record_oversize", msg(3, uint(INC), uint(15), array(binary(b"\x80" * 65537))),
    "E_RANGE", "batch.records[0]")
bad("batch_record_cut", msg(3, uint(INC), uint(15), array(binary(R_PLAN)))[:-10],
    "E_TRUNCATED", "batch.records[0]")
bad("batch_record_huge_len", msg(3, uint(INC), uint(15), arr(1) + b"\xc6\xff\xff\xff\xff"),
    "E_TRUNCATED", "batch.records[0]")
bad("batch_first_seq_zero", msg(3, uint(INC), uint(0), array(binary(R_PLAN))), "E_RANGE",
    "batch.first_seq")
bad("batch_seq_overflow", msg(3, uint(INC), uint((1 << 63) - 1), array(binary(b"\x80"),
                                                                      binary(b"\x80"))),
    "E_RANGE", "batch.first_seq")
bad("batch_missing_records", arr(5) + uint(1) + uint(3) + uint(INC) + uint(15), "E_TRUNCATED",
    "batch.records")
bad("ack_entry_short", msg(4, uint(INC), uint(20), array(array(uint(19), uint(19)))), "E_RANGE",
    "ack.quarantined[0]")
bad("ack_entry_not_array", msg(4, uint(INC), uint(20), array(uint(19))), "E_TYPE",
    "ack.quarantined[0]")
bad("ack_code_zero", msg(4, uint(INC), uint(20), array(array(uint(19), uint(0), s("x")))),
    "E_RANGE", "ack.quarantined[0].code")
bad("ack_seq_zero", msg(4, uint(INC), uint(20), array(array(uint(0), uint(19), s("x")))),
    "E_RANGE", "ack.quarantined[0].seq")
bad("ack_reason_utf8", msg(4, uint(INC), uint(20), array(
    array(uint(19), uint(19), s("ok")), array(uint(20), uint(19), raw_str(b"\xff\xfe")))),
    "E_UTF8", "ack.quarantined[1].reason")
bad("ack_too_many", msg(4, uint(INC), uint(20), arr(1001)), "E_RANGE", "ack.quarantined")
bad("error_code_zero", msg(5, uint(0), uint(0), s("")), "E_RANGE", "error.code")
bad("error_text_long", msg(5, uint(22), uint(15), s("x" * 1025)), "E_RANGE", "error.text")
bad("error_text_bin", msg(5, uint(22), uint(15), binary(b"x")), "E_TYPE", "error.text")
bad("ping_inc_zero", msg(6, uint(0), uint(18), uint(0)), "E_RANGE", "ping.inc")
bad("pong_arity", msg(7, uint(INC), uint(18), uint(0)), "E_RANGE", "pong")
bad("query_dup_key", msg(8, uint(7), s("summary"), mapn(2) + s("area") + s("130100") + s("area")
                         + s("130200")), "E_DUPFIELD", "query.params[1].key")
bad("query_params_array", msg(8, uint(7), s("summary"), array(s("area"), s("130100"))),
    "E_TYPE", "query.params")
bad("query_too_many", msg(8, uint(7), s("summary"), mapn(33)), "E_RANGE", "query.params")
bad("query_value_int", msg(8, uint(7), s("summary"), mapn(1) + s("area") + uint(130100)),
    "E_TYPE", "query.params[0].value")
bad("query_key_nil", msg(8, uint(7), s("summary"), mapn(1) + NIL + s("x")), "E_TYPE",
    "query.params[0].key")
bad("query_key_empty", msg(8, uint(7), s("summary"), mapn(1) + s("") + s("x")), "E_RANGE",
    "query.params[0].key")
bad("query_key_control", msg(8, uint(7), s("summary"), mapn(1) + s("ar\tea") + s("x")),
    "E_UTF8", "query.params[0].key")
bad("query_name_empty", msg(8, uint(7), s(""), mapn(0)), "E_RANGE", "query.name")
bad("query_request_neg", msg(8, sint(-7), s("summary"), mapn(0)), "E_RANGE",
    "query.request_id")
bad("result_row_short", msg(9, uint(7), uint(0), s(""), array(s("a"), s("b")),
                            array(array(NIL, NIL), array(NIL))), "E_RANGE", "result.rows[1]")
bad("result_row_long", msg(9, uint(7), uint(0), s(""), array(s("a")),
                           array(array(NIL, NIL))), "E_RANGE", "result.rows[0]")
bad("result_cell_bool", msg(9, uint(7), uint(0), s(""), array(s("a"), s("b")),
                            array(array(NIL, TRUE))), "E_TYPE", "result.rows[0][1]")
bad("result_cell_bin", msg(9, uint(7), uint(0), s(""), array(s("a")),
                           array(array(NIL), array(binary(b"x")))), "E_TYPE", "result.rows[1][0]")
bad("result_cell_2p63", msg(9, uint(7), uint(0), s(""), array(s("a")),
                            array(array(uint(1 << 63)))), "E_RANGE", "result.rows[0][0]")
bad("result_cell_utf8", msg(9, uint(7), uint(0), s(""), array(s("a")),
                            array(array(raw_str(b"\xe9\x95")))), "E_UTF8", "result.rows[0][0]")
bad("result_col_empty", msg(9, uint(7), uint(0), s(""), array(s("a"), s("")), array()),
    "E_RANGE", "result.columns[1]")
bad("result_too_many_cols", msg(9, uint(7), uint(0), s(""), arr(65), array()), "E_RANGE",
    "result.columns")
bad("result_rows_no_cols", msg(9, uint(7), uint(0), s(""), array(), array(array())), "E_RANGE",
    "result.rows")
bad("result_error_with_table", msg(9, uint(9), uint(25), s("x"), array(s("a")), array()),
    "E_RANGE", "result.columns")
bad("result_error_with_rows", msg(9, uint(9), uint(25), s("x"), array(), array(array())),
    "E_RANGE", "result.rows")
bad("result_too_many_rows", msg(9, uint(7), uint(0), s(""), array(s("a")), arr(100001)),
    "E_RANGE", "result.rows")
bad("result_status_big", msg(9, uint(7), uint(1 << 32), s(""), array(), array()), "E_RANGE",
    "result.status")
bad("result_arity_long", msg(9, uint(7), uint(0), s(""), array(), array(), s(""), s("")),
    "E_RANGE", "result")
bad("result_next_long", msg(9, uint(7), uint(0), s(""), array(), array(), s("r" * 257)),
    "E_RANGE", "result.next")
bad("result_next_int", msg(9, uint(7), uint(0), s(""), array(), array(), uint(2)), "E_TYPE",
    "result.next")
bad("result_next_newline", msg(9, uint(7), uint(0), s(""), array(), array(), s("r\n2")),
    "E_UTF8", "result.next")


# ---- compressed batches (PROTOCOL.md 5.10): tests/vectors/zstd/ -----------
#
# The zstd frames are made by the `zstd` command-line tool (not by libzstd
# through the C codec), with the dictionary proto/dict/records-1.zdict. A
# compressed frame is not canonical (another zstd version or level gives
# other bytes), so these ZBATCH vectors are checked by decoding only: they
# must decode to exactly the records of batch_several. HELLO and WELCOME
# with the zstd element are canonical and round-trip byte for byte.

ZDIR = os.path.join(HERE, "zstd")
ZBAD = os.path.join(ZDIR, "bad")
DICT1 = os.path.join(HERE, "..", "..", "proto", "dict", "records-1.zdict")


def zstd(data, dict_path=None, sized=True, level=19):
    """One zstd frame of data, by the zstd CLI. sized: from a file, so the
    frame header holds the content size; else from a pipe (no size)."""
    args = ["zstd", "-q", "-c", "-%d" % level, "--no-check"]
    if dict_path:
        args += ["-D", dict_path]
    if sized:
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            return subprocess.run(args + [f.name], check=True, capture_output=True).stdout
    return subprocess.run(args, input=data, check=True, capture_output=True).stdout


SEVERAL = array(binary(R_ENTERPRISE), binary(R_VISIT), binary(R_PROBLEM), binary(R_PLAN))


def zbatch(first, count, dict_id, frame, inc=INC):
    return msg(10, uint(inc), uint(first), uint(count), uint(dict_id), binary(frame))


def zgood():
    g = {}
    g["hello_zstd"] = msg(1, s(AGENT), uint(INC), s("wanqi-agent 0.2.0"), uint(14), uint(4),
                          array(uint(1), uint(0)))
    g["hello_zstd_empty"] = msg(1, s("x"), uint(1), s(""), uint(0), uint(0), array())
    g["welcome_zstd"] = msg(2, uint(INC), uint(14), uint(4), uint(500), uint(5000),
                            array(uint(1)))
    g["welcome_zstd_off"] = msg(2, uint(INC), uint(14), uint(4), uint(500), uint(5000), array())
    g["zbatch_dict"] = zbatch(15, 4, 1, zstd(SEVERAL, DICT1))
    g["zbatch_nodict"] = zbatch(15, 4, 0, zstd(SEVERAL))
    g["zbatch_unsized"] = zbatch(15, 4, 1, zstd(SEVERAL, DICT1, sized=False))
    return g


def zbad():
    b = []
    frame = zstd(SEVERAL, DICT1)
    zeros = arr(90) + binary(b"\0" * 60000) * 90   # 5.4 MB of records: over the frame limit
    b.append(("zbatch_bomb_declared", zbatch(1, 90, 0, zstd(zeros)), "E_RANGE", "zbatch.data"))
    b.append(("zbatch_bomb_stream", zbatch(1, 90, 0, zstd(zeros, sized=False)), "E_RANGE",
              "zbatch.data"))
    b.append(("zbatch_wrong_dict", zbatch(15, 4, 0, frame), "E_FORMAT", "zbatch.data"))
    b.append(("zbatch_unknown_dict", zbatch(15, 4, 77, frame), "E_UNKNOWN", "zbatch.data"))
    b.append(("zbatch_count_mismatch", zbatch(15, 3, 1, frame), "E_RANGE", "zbatch.records"))
    b.append(("zbatch_count_zero", zbatch(15, 0, 1, frame), "E_RANGE", "zbatch.count"))
    b.append(("zbatch_frame_trailing", zbatch(15, 4, 1, frame + b"\0"), "E_TRAILING",
              "zbatch.data"))
    b.append(("zbatch_frame_truncated", zbatch(15, 4, 1, frame[:-3]), "E_TRUNCATED",
              "zbatch.data"))
    b.append(("zbatch_not_zstd", zbatch(15, 4, 0, SEVERAL), "E_FORMAT", "zbatch.data"))
    b.append(("zbatch_inner_trailing", zbatch(15, 4, 1, zstd(SEVERAL + b"\xc0", DICT1)),
              "E_TRAILING", "zbatch.data"))
    b.append(("zbatch_inner_not_bin", zbatch(15, 1, 0, zstd(array(s("x")))), "E_TYPE",
              "zbatch.records[0]"))
    b.append(("zbatch_data_str", msg(10, uint(INC), uint(15), uint(4), uint(1), s("x")),
              "E_TYPE", "zbatch.data"))
    b.append(("zbatch_arity", msg(10, uint(INC), uint(15), uint(4), binary(frame)), "E_RANGE",
              "zbatch"))
    b.append(("hello_zstd_too_many", msg(1, s(AGENT), uint(INC), s(""), uint(0), uint(0),
                                         array(*[uint(1)] * 9)), "E_RANGE", "hello.zstd"))
    b.append(("hello_zstd_not_array", msg(1, s(AGENT), uint(INC), s(""), uint(0), uint(0),
                                          uint(1)), "E_TYPE", "hello.zstd"))
    b.append(("hello_nine", msg(1, s(AGENT), uint(INC), s(""), uint(0), uint(0), array(),
                                array()), "E_RANGE", "hello"))
    b.append(("welcome_zstd_two", msg(2, uint(INC), uint(14), uint(4), uint(500), uint(5000),
                                      array(uint(1), uint(0))), "E_RANGE", "welcome.zstd"))
    return b


def write_zstd():
    os.makedirs(ZBAD, exist_ok=True)
    for name, data in sorted(zgood().items()):
        with open(os.path.join(ZDIR, name + ".bin"), "wb") as f:
            f.write(data)
    lines = ["# Malformed compressed-batch frames made by make_vectors.py.",
             "# file  expected-code  expected-err.field ('-' for none)"]
    for name, data, code, field in zbad():
        assert len(data) <= 4 * 1024 * 1024
        with open(os.path.join(ZBAD, name + ".bin"), "wb") as f:
            f.write(data)
        lines.append("%s.bin %s %s" % (name, code, field or "-"))
    with open(os.path.join(ZBAD, "EXPECTED"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(BAD, exist_ok=True)
    for name, data in sorted(GOOD.items()):
        assert len(data) <= 4 * 1024 * 1024
        with open(os.path.join(HERE, name + ".bin"), "wb") as f:
            f.write(data)
    names = set()
    lines = ["# Malformed wanqi v1 frames made by make_vectors.py.",
             "# file  expected-code  expected-err.field ('-' for none)"]
    for name, data, code, field in BADV:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(BAD, name + ".bin"), "wb") as f:
            f.write(data)
        lines.append("%s.bin %s %s" % (name, code, field or "-"))
    with open(os.path.join(BAD, "EXPECTED"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_zstd()
    print("%d good, %d bad vectors; compressed: %d good, %d bad" % (
        len(GOOD), len(BADV), len(zgood()), len(zbad())))


if __name__ == "__main__":
    main()
