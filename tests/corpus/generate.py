#!/usr/bin/env python3
"""Writes the hostile-input corpus (tests/corpus/*.jsonl) that tests/api/corpus.rs replays.

Each line: {"name", "method", "path", "headers": {..}, "body": text | null,
"body_b64": base64 | null, "expect": "4xx" | "303" | "200" | "no5xx"}.
Placeholders filled at run time: {CODE} (a live code), {code_lower} (the same in
lower case), {REVOKED} (a revoked code), {TOKEN} (a fresh form token for {CODE}),
{STATUS} (a real status-page token), {BIG} (1 MB of text), {HUGE} (a 200 KB header).
"""
import base64, json, os, struct, zlib
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
FORM = "application/x-www-form-urlencoded"

def form(**fields):
    # Placeholders stay literal so the runner can fill them in.
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).replace("%7BTOKEN%7D", "{TOKEN}")

def case(name, method, path, expect, body=None, body_bytes=None, headers=None):
    c = {"name": name, "method": method, "path": path, "headers": headers or {}, "expect": expect,
         "body": body, "body_b64": base64.b64encode(body_bytes).decode() if body_bytes is not None else None}
    if body is not None and "content-type" not in c["headers"]:
        c["headers"]["content-type"] = FORM
    return c

GOOD = "Не работает кофемашина, горит красный индикатор"
XSS = [
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'><svg onload=alert(1)>",
    "javascript:alert(1)", "<iframe src=//evil.example>", "{{7*7}}${7*7}", "<a href=\"javascript:x\">x</a>",
    "</textarea><script>alert(1)</script>", "&#60;script&#62;", "<style>*{display:none}</style>",
]
SQL = ["' OR '1'='1", "'; DROP TABLE requests; --", "\" OR 1=1 --", "1; SELECT * FROM admins",
       "') UNION SELECT password_hash FROM admins --", "%' AND 1=0 --"]

def xss_cases():
    out = []
    for i, p in enumerate(XSS):
        # Accepted with the payload as text: must come out escaped (checked by the runner).
        out.append(case(f"xss-description-{i}", "POST", "/q/{CODE}", "303",
                        form(form_token="{TOKEN}", description=GOOD + " " + p)))
        out.append(case(f"xss-name-{i}", "POST", "/q/{CODE}", "303",
                        form(form_token="{TOKEN}", description=GOOD, name=p[:200], consent="1")))
        out.append(case(f"xss-phone-{i}", "POST", "/q/{CODE}", "4xx",
                        form(form_token="{TOKEN}", description=GOOD, phone=p, consent="1")))
        out.append(case(f"xss-email-{i}", "POST", "/q/{CODE}", "4xx",
                        form(form_token="{TOKEN}", description=GOOD, email=p, consent="1")))
        out.append(case(f"xss-asset-{i}", "POST", "/q/{CODE}", "no5xx",
                        form(form_token="{TOKEN}", description=GOOD, asset=p)))
        out.append(case(f"xss-lang-{i}", "POST", "/q/{CODE}", "303",
                        form(form_token="{TOKEN}", description=GOOD, lang=p)))
        out.append(case(f"xss-token-{i}", "POST", "/q/{CODE}", "4xx",
                        form(form_token=p, description=GOOD)))
        out.append(case(f"xss-query-{i}", "GET", "/q/{CODE}?lang=" + quote(p, safe=''), "200"))
        out.append(case(f"xss-index-{i}", "GET", "/?code=" + quote(p, safe=''), "4xx"))
    return out

def sql_cases():
    out = []
    for i, p in enumerate(SQL):
        out.append(case(f"sql-description-{i}", "POST", "/q/{CODE}", "303",
                        form(form_token="{TOKEN}", description=GOOD + " " + p)))
        out.append(case(f"sql-name-{i}", "POST", "/q/{CODE}", "303",
                        form(form_token="{TOKEN}", description=GOOD, name=p, consent="1")))
        out.append(case(f"sql-code-{i}", "GET", "/q/" + quote(p, safe=''), "4xx"))
        out.append(case(f"sql-status-{i}", "GET", "/t/" + quote(p, safe=''), "4xx"))
    return out

def encoding_cases():
    out = []
    for i, raw in enumerate([b"\xff\xfe\xfd", b"\xc3\x28", b"\xe2\x82", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80"]):
        body = b"form_token={TOKEN}&description=" + b"%" + b"%".join(b"%02X" % c for c in raw)
        out.append(case(f"invalid-utf8-{i}", "POST", "/q/{CODE}", "4xx", body_bytes=body, headers={"content-type": FORM}))
    for i, s in enumerate(["\x00", "abc\x00def ghijklmnop", "\x00" * 50]):
        out.append(case(f"nul-{i}", "POST", "/q/{CODE}", "no5xx", form(form_token="{TOKEN}", description=GOOD + s)))
    for i, s in enumerate(["\u202e", "\u2066\u2069", "\u200b" * 20]):
        out.append(case(f"bidi-{i}", "POST", "/q/{CODE}", "303", form(form_token="{TOKEN}", description=GOOD + s + "тест")))
    # {BIG} becomes a 1 MB field at run time (keeps the corpus small on disk).
    out.append(case("field-1mb", "POST", "/q/{CODE}", "4xx", "form_token={TOKEN}&description={BIG}"))
    out.append(case("fields-10000", "POST", "/q/{CODE}", "4xx", "&".join(f"f{i}=1" for i in range(10_000))))
    out.append(case("fields-10000-small", "POST", "/q/{CODE}", "4xx", "&".join("a=1" for _ in range(10_000))))
    out.append(case("duplicate-fields", "POST", "/q/{CODE}", "4xx", "description=a&description=b&form_token={TOKEN}"))
    return out

def content_type_cases():
    out = []
    body = form(form_token="{TOKEN}", description=GOOD)
    for i, ct in enumerate(["text/plain", "application/json", "application/xml", "multipart/form-data",
                            "multipart/form-data; boundary=", "image/png", "application/x-www-form-urlencoded; charset=koi8-r"]):
        out.append(case(f"content-type-{i}", "POST", "/q/{CODE}", "no5xx", body, headers={"content-type": ct}))
    out.append(case("no-content-type", "POST", "/q/{CODE}", "no5xx", body_bytes=body.encode(), headers={}))
    return out

def multipart(parts, boundary="XqrdeskX", close=True):
    out = b""
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        disp = f'form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += f"Content-Disposition: {disp}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n"
    return out

def png(w, h, idat=None):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = idat if idat is not None else zlib.compress(b"".join(b"\x00" + b"\x80\x40\x20" * w for _ in range(h)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")

def multipart_cases():
    out = []
    mp = {"content-type": "multipart/form-data; boundary=XqrdeskX"}
    text = [("form_token", None, None, b"{TOKEN}"), ("description", None, None, GOOD.encode())]
    good_png = png(40, 30)
    for i, name in enumerate(["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow", "a%00b.jpg",
                              "<script>alert(1)</script>.png", "photo.jpg;rm -rf /", "очень_длинное_" * 40 + ".png"]):
        out.append(case(f"filename-{i}", "POST", "/q/{CODE}", "303",
                        body_bytes=multipart(text + [("photo", name, "image/png", good_png)]), headers=dict(mp)))
    out.append(case("multipart-truncated", "POST", "/q/{CODE}", "4xx",
                    body_bytes=multipart(text + [("photo", "a.png", "image/png", good_png)], close=False)[:-40], headers=dict(mp)))
    out.append(case("multipart-truncated-text", "POST", "/q/{CODE}", "4xx",
                    body_bytes=multipart(text, close=False)[:30], headers=dict(mp)))
    out.append(case("multipart-wrong-boundary", "POST", "/q/{CODE}", "4xx",
                    body_bytes=multipart(text, boundary="Other"), headers=dict(mp)))
    out.append(case("multipart-garbage", "POST", "/q/{CODE}", "4xx", body_bytes=os.urandom(2048), headers=dict(mp)))
    images = {
        "gif-as-jpeg": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,", "4xx"),
        "gif-js-polyglot": (b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(1);", "4xx"),
        "png-bomb": (png(60000, 60000, zlib.compress(b"\x00" * 100000)), "4xx"),
        "png-truncated": (good_png[:60], "4xx"),
        "jpeg-header-only": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "4xx"),
        "html-as-image": (b"<html><script>alert(1)</script></html>", "4xx"),
        "svg-as-image": (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "4xx"),
        "png-with-html-tail": (good_png + b"<script>alert(1)</script>", "303"),
        "empty-file": (b"", "303"),
        "heic": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "4xx"),
    }
    for name, (data, expect) in images.items():
        out.append(case(f"image-{name}", "POST", "/q/{CODE}", expect,
                        body_bytes=multipart(text + [("photo", "photo.jpg", "image/jpeg", data)]), headers=dict(mp)))
    return out

def code_and_token_cases():
    out = []
    for i, p in enumerate(["ZZZZZZZZ", "{REVOKED}", "00000000", "A" * 33, "AAAA-AAAA-AAAA", "%2e%2e%2f%2e%2e%2fetc",
                           "..%2f..%2fadmin", "7K3M9Q2A.svg.png", "*", "%00", "q" * 500]):
        out.append(case(f"code-get-{i}", "GET", "/q/" + p, "4xx"))
        out.append(case(f"code-post-{i}", "POST", "/q/" + p, "4xx", form(form_token="{TOKEN}", description=GOOD)))
    out.append(case("code-lowercase", "GET", "/q/{code_lower}", "200"))
    for i, p in enumerate(["short", "0" * 26, "u" * 26, "{STATUS}x", "x{STATUS}", "%00" * 26, "%2e%2e%2f" * 9,
                           "{STATUS}%2f..%2f..%2fadmin", "{STATUS}/photo/..%2f..%2fetc", "{STATUS}/photo/1"]):
        out.append(case(f"status-token-{i}", "GET", "/t/" + p, "4xx"))
    out.append(case("status-comment-no-token", "POST", "/t/{STATUS}/comment", "4xx", form(description="Привет всем")))
    out.append(case("status-feedback-bad-kind", "POST", "/t/{STATUS}/feedback", "4xx", form(form_token="x", kind="<b>")))
    return out

def csrf_and_header_cases():
    out = []
    body = form(form_token="{TOKEN}", description=GOOD)
    out.append(case("csrf-missing-token", "POST", "/q/{CODE}", "4xx", form(description=GOOD)))
    out.append(case("csrf-cross-site", "POST", "/q/{CODE}", "4xx", body, headers={"sec-fetch-site": "cross-site"}))
    out.append(case("csrf-foreign-origin", "POST", "/q/{CODE}", "4xx", body, headers={"origin": "https://evil.example"}))
    out.append(case("csrf-null-origin", "POST", "/q/{CODE}", "4xx", body, headers={"origin": "null"}))
    out.append(case("admin-post-no-session", "POST", "/admin/codes", "no5xx", form(mode="blank", count="5")))
    out.append(case("admin-login-cross-site", "POST", "/admin/login", "4xx", form(email="a@b.ru", password="x"),
                    headers={"sec-fetch-site": "cross-site"}))
    out.append(case("huge-header", "GET", "/q/{CODE}", "4xx", headers={"x-filler": "{HUGE}"}))
    out.append(case("many-cookies", "GET", "/q/{CODE}", "200", headers={"cookie": "; ".join(f"c{i}=v" for i in range(500))}))
    out.append(case("bad-accept-language", "GET", "/q/{CODE}", "200", headers={"accept-language": "ru;q=abc,,,;;;" * 50}))
    out.append(case("lang-cookie-garbage", "GET", "/q/{CODE}", "200", headers={"cookie": "lang=<script>"}))
    out.append(case("method-put", "PUT", "/q/{CODE}", "4xx", body))
    out.append(case("method-delete", "DELETE", "/t/{STATUS}", "4xx"))
    return out

groups = {
    "xss": xss_cases(), "sql": sql_cases(), "encoding": encoding_cases(), "content-types": content_type_cases(),
    "multipart": multipart_cases(), "codes-and-tokens": code_and_token_cases(), "csrf-and-headers": csrf_and_header_cases(),
}
total = 0
for name, cases in groups.items():
    with open(os.path.join(HERE, f"{name}.jsonl"), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    total += len(cases)
print(f"{total} cases")
