#!/usr/bin/env python3
"""A fake Microsoft Exchange front end for scripts/capture-clients.sh (python3 http.server).

It answers the way a vulnerable Exchange 2016/2019 front end answers, with the response
facts of ../shared/research/proxylogon-markers.md (section numbers below), so that real
clients run whole attack chains against it and the capture holds both sides:

* ProxyLogon (CVE-2021-26855, sec. 1.1-1.2, 2.2-2.10): a request whose path ends in a
  static-resource extension and that carries an `X-BEResource` cookie `<host>[<path>]~<int>`
  (ASP.NET cookie parsing, sec. 1.4) is "proxied": `X-CalculatedBETarget: <host>`, and the
  back-end path inside the cookie chooses the answer — Autodiscover XML with `<LegacyDN>`,
  MAPI/HTTP Connect leaking `with SID S-1-5-21-...` / `act as owner of a UserMailbox`,
  `proxyLogon.ecp` answering **241** with `ASP.NET_SessionId` and `msExchEcpCanary`,
  DDIService GetObject/GetList with `RawIdentity`, SetObject, EWS. `localhost` targets and
  `X-AnonResource-Backend` cookies get 500 with `X-CalculatedBETarget` (sec. 2.2, nmap).
* ProxyShell / ProxyNotShell (sec. 1.5, 3, 4): `/autodiscover/...autodiscover.json` with
  `Email=autodiscover/...` in the query or a cookie is an explicit logon: what follows the
  `@address` is the back-end path (`/mapi/nspi` -> the MAPI/HTTP Connectivity Endpoint page,
  `/powershell` -> WSMan `ResourceCreated`, `/owa/` -> `OwaADUserNotFoundException`, `/EWS/`).
* OWASSRF (sec. 4.1): `/owa/<mailbox@domain>/powershell` reaches the back-end PowerShell.
* ProxyToken (sec. 5): `/ecp/<mailbox>/...` with a non-empty `SecurityToken` cookie: the
  HomePage issues `msExchEcpCanary`, `InboxRules.svc/NewObject` answers `RuleRowResults`.
* Web shells (sec. 2.9, 7.1): an `.aspx` under `/aspnet_client/` or a non-stock one under
  `/owa/auth/` answers China Chopper framing `->|...|<-` to a Chopper/AntSword body, and the
  OAB virtual-directory dump of a CVE-2021-27065 shell otherwise.
* Benign: OWA forms logon (302 to logon.aspx, the form, POST /owa/auth.owa with cadata
  cookies, the mailbox page), EWS with NTLM (401 challenge with a real Type 2 message, then
  200), ActiveSync OPTIONS, Autodiscover XML and v2 JSON. Like a real front end, proxied
  benign answers carry `X-CalculatedBETarget` and `X-FEServer` too.

Usage: fake-exchange.py ADDRESS [--port N] [--tls-port N --cert FILE --key FILE [--keylog FILE]
                         [--tls-min V] [--tls-max V] [--ciphers LIST]]
Serves plain HTTP on ADDRESS:80 (--port; 0 for none) and HTTPS on ADDRESS:N with --tls-port,
writing its TLS secrets to --keylog (scripts/capture-tls-decrypt.sh). Answers only; it
connects nowhere. Stops on SIGTERM.
"""

import argparse
import base64
import re
import ssl
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

FQDN = "ex01.contoso.local"
FE = "EX01"
DOMAIN_SID = "S-1-5-21-2725560159-1428537199-2260736313"
CANARY = "mvv8cTCO3UeLf-3nQvY9Ep1SzNGTJtkIVoXMnRtWOJwbI0KpWxwbfbgmEpHk2xP0kWyaovDMJQ0."
SESSION = "a7b5d4f8-52a1-4c4e-9e5b-6d2f1f0c3a11"
RAW_IDENTITY = "2f4e09d9-3e1c-4b9a-9bd5-2b43f7d0c7a5"
SHELL_ID = "1E3B2C4D-5A6F-4B7C-8D9E-0F1A2B3C4D5E"

STATIC_EXT = (".axd .crx .css .eot .gif .jpg .js .htm .html .ico .manifest .mp3 .msi .png "
              ".svg .ttf .wav .woff .bin .dat .exe .flt .mui .xap .skin").split()
STOCK_AUTH_PAGES = {"logon.aspx", "errorfe.aspx", "timeoutlogoff.aspx", "frowny.aspx",
                    "expiredpassword.aspx", "logoff.aspx", "signout.aspx"}


def aspnet_cookies(header_values):
    """Cookies as ASP.NET reads them (sec. 1.4): split on ';' only, trimmed, names compared
    case-insensitively, the first of duplicate names wins, '$' names are attributes."""
    cookies = {}
    for value in header_values:
        for segment in value.split(";"):
            segment = segment.strip()
            if not segment or "=" not in segment:
                continue
            name, val = segment.split("=", 1)
            name = name.strip().lower()
            if name.startswith("$"):
                continue
            cookies.setdefault(name, val)
    return cookies


def backend_server(value):
    """BackEndServer.FromString (sec. 1.2): '<fqdn>~<int>' -> (fqdn, version) or None."""
    parts = value.split("~")
    if len(parts) != 2:
        return None
    if not re.fullmatch(r"\s*[+-]?\d+\s*", parts[1]):
        return None
    return parts[0], int(parts[1])


def target_host(fqdn_part):
    """The host the front end proxies to, for X-CalculatedBETarget."""
    authority = fqdn_part.split("/", 1)[0]
    host = authority.rsplit("@", 1)[-1]
    host = re.sub(r":\d+$", "", host).strip("[]")
    return host.lower() or "localhost"


def ntlm_challenge():
    """An NTLM Type 2 message with target info (NetBIOS/DNS names, sec. 2.1)."""
    def av(kind, text):
        data = text.encode("utf-16-le")
        return struct.pack("<HH", kind, len(data)) + data
    target = "CONTOSO".encode("utf-16-le")
    info = (av(2, "CONTOSO") + av(1, FE) + av(4, "contoso.local") + av(3, FQDN)
            + av(5, "contoso.local") + struct.pack("<HH", 0, 0))
    flags = 0x628A8215  # unicode, NTLM, target type domain, target info, 128, 56, ESS
    header_len = 56
    msg = b"NTLMSSP\x00" + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(target), len(target), header_len)
    msg += struct.pack("<I", flags)
    msg += bytes.fromhex("0123456789abcdef") + b"\x00" * 8
    msg += struct.pack("<HHI", len(info), len(info), header_len + len(target))
    msg += bytes.fromhex("0a0063450000000f")  # version: Windows 10.0.17763, NTLMSSP 15
    return base64.b64encode(msg + target + info).decode()


LEGACY_DN = ("/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
             "cn=5d3c9a0e8b8f4f0f9a3e1b7c6d2a4e11-Administrator")

AUTODISCOVER_XML = f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
<User><DisplayName>Administrator</DisplayName><LegacyDN>{LEGACY_DN}</LegacyDN>
<AutoDiscoverSMTPAddress>administrator@contoso.com</AutoDiscoverSMTPAddress>
<DeploymentId>6c9e1a4f-0d6b-4b6e-9d5e-2c8a7f1b3e90</DeploymentId></User>
<Account><AccountType>email</AccountType><Action>settings</Action>
<Protocol><Type>EXCH</Type><Server>{RAW_IDENTITY}@contoso.com</Server>
<ServerDN>/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn={RAW_IDENTITY}@contoso.com</ServerDN>
<ServerVersion>73C18880</ServerVersion></Protocol></Account></Response></Autodiscover>
"""

MAPI_SID_LEAK = (
    "The user {dn} with SID " + DOMAIN_SID + "-500 and MasterAccountSid  within "
    "the mailbox is not permitted to act as owner of a UserMailbox "
    "(MapiExceptionLogonFailed)"
).format(dn=LEGACY_DN)

NSPI_PAGE = ("<html><head><title>Exchange MAPI/HTTP Connectivity Endpoint</title></head>"
             "<body><p>Exchange MAPI/HTTP Connectivity Endpoint<br><br>Version: 15.1.2176.2"
             "<br>Vdir Path: /mapi/nspi/<br><br></p></body></html>")

OWA_USER_NOT_FOUND = (
    "<html><body><h1>Error</h1><p>X-OWA-Error: Microsoft.Exchange.Clients.Owa2.Server.Core."
    "OwaADUserNotFoundException</p></body></html>")

WSMAN_CREATED = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">'
    "<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"
    "</a:Action></s:Header><s:Body><x:ResourceCreated><a:Address>"
    "http://ex01.contoso.local/powershell</a:Address><a:ReferenceParameters><w:ResourceURI>"
    "http://schemas.microsoft.com/powershell/Microsoft.Exchange</w:ResourceURI><w:SelectorSet>"
    f'<w:Selector Name="ShellId">{SHELL_ID}</w:Selector></w:SelectorSet>'
    "</a:ReferenceParameters></x:ResourceCreated>"
    f'<rsp:Shell><rsp:ShellId>{SHELL_ID}</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>')

WSMAN_COMMAND = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Body>'
    "<rsp:CommandResponse><rsp:CommandId>931F2C64-085E-4D4B-A19B-3C7012EE5501</rsp:CommandId>"
    "</rsp:CommandResponse></s:Body></s:Envelope>")

EWS_OK = (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope '
    'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo '
    'MajorVersion="15" MinorVersion="1" MajorBuildNumber="2176" MinorBuildNumber="2" '
    'xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>'
    '<s:Body><m:FindItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/'
    '2006/messages"><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success">'
    "<m:ResponseCode>NoError</m:ResponseCode><m:RootFolder TotalItemsInView=\"1\" "
    'IncludesLastItemInRange="true"/></m:FindItemResponseMessage></m:ResponseMessages>'
    "</m:FindItemResponse></s:Body></s:Envelope>")

OAB_DUMP = (
    "Name                            : OAB (Default Web Site)\r\n"
    "PollInterval                    : 480\r\n"
    "OfflineAddressBooks             : \r\n"
    "RequireSSL                      : True\r\n"
    "BasicAuthentication             : False\r\n"
    "InternalUrl                     : https://ex01.contoso.local/OAB\r\n"
    "ExternalUrl                     : http://f/\r\n"
    "{output}\r\n")

LOGON_PAGE = (
    "<!DOCTYPE html><html><head><title>Outlook</title></head><body>"
    '<form action="/owa/auth.owa" method="POST" name="logonForm">'
    '<input type="hidden" name="destination" value="/owa/">'
    '<input type="hidden" name="flags" value="4"><input type="hidden" name="forcedownlevel" '
    'value="0"><input id="username" name="username" type="text">'
    '<input id="password" name="password" type="password">'
    '<input type="submit" value="sign in"></form></body></html>')

MAILBOX_PAGE = ("<!DOCTYPE html><html><head><title>Mail - John - Outlook</title></head>"
                "<body><div id=\"app\">Inbox</div></body></html>")


class Exchange(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-exchange: %s %s\n" % (self.address_string(), fmt % args))

    # --- plumbing -------------------------------------------------------------------------

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body=b"", ctype="text/html; charset=utf-8", headers=(),
               proxied=False, reason=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response_only(status, reason if reason is not None else
                                self.responses.get(status, ("",))[0])
        self.send_header("Cache-Control", "private")
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Server", "Microsoft-IIS/10.0")
        self.send_header("request-id", "6a7d1e2f-0b3c-4d5e-8f90-a1b2c3d4e5f6")
        for name, value in headers:
            self.send_header(name, value)
        if proxied:
            self.send_header("X-CalculatedBETarget", proxied if isinstance(proxied, str)
                             else FQDN)
            self.send_header("X-BackEndHttpStatus", str(status))
        self.send_header("X-FEServer", FE)
        self.send_header("X-Powered-By", "ASP.NET")
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_request(status, len(body))

    def handle_any(self):
        body = self.read_body()
        target = self.path
        path, _, query = target.partition("?")
        # IIS's view of the path: %-decoding (also %uXXXX), backslashes, folded slashes.
        decoded = re.sub(r"%u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), path)
        decoded = unquote(decoded).replace("\\", "/")
        decoded = re.sub(r"/+", "/", decoded)
        lpath = decoded.lower()
        lquery = unquote(query).lower()
        cookies = aspnet_cookies(self.headers.get_all("Cookie") or [])
        self.route(lpath, lquery, unquote(target), cookies, body)

    do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = do_DELETE = handle_any

    def do_RPC_IN_DATA(self):  # Outlook Anywhere, for completeness
        self.handle_any()

    # --- routing --------------------------------------------------------------------------

    def route(self, lpath, lquery, full, cookies, body):
        static = any(lpath.endswith(ext) for ext in STATIC_EXT)
        auth = self.headers.get("Authorization") or ""

        # ProxyLogon: X-BEResource cookie on a static-resource path (sec. 1.1).
        if static and "x-beresource" in cookies:
            return self.proxylogon(cookies["x-beresource"], body)
        # X-AnonResource-Backend (nmap, nuclei, ProxyOracle; sec. 1.3).
        if static and cookies.get("x-anonresource", "").lower() == "true" \
                and "x-anonresource-backend" in cookies:
            be = backend_server(cookies["x-anonresource-backend"])
            if be is None:
                return self.answer(500, "<h1>Server Error</h1>")
            return self.answer(500, "<h1>Server Error</h1>", proxied=target_host(be[0]))

        # ProxyShell / ProxyNotShell: Autodiscover explicit logon (sec. 1.5).
        if lpath.startswith("/autodiscover/") and "autodiscover.json" in lpath:
            email = ""
            m = re.search(r"(?:^|&)email=([^&]*)", lquery)
            if m:
                email = m.group(1)
            elif "email" in cookies:
                email = unquote(cookies["email"]).lower()
            if email.startswith("autodiscover/"):
                return self.explicit_logon_ssrf(full, auth, body)
            return self.autodiscover_v2(lpath, lquery)

        # OWASSRF: /owa/<mailbox>/powershell (sec. 4.1).
        m = re.match(r"^/owa/[^/]+@[^/]+/powershell", lpath)
        if m:
            return self.powershell(body, proxied=True)

        # ProxyToken: SecurityToken cookie on /ecp/ (sec. 5).
        if lpath.startswith("/ecp/") and cookies.get("securitytoken"):
            if "/personalsettings/homepage.aspx" in lpath:
                return self.answer(200, "<html><body>Options</body></html>", headers=[
                    ("Set-Cookie", f"ASP.NET_SessionId={SESSION}; path=/; HttpOnly"),
                    ("Set-Cookie", f"msExchEcpCanary={CANARY}; path=/ecp")], proxied=True)
            if "/rulesEditor/inboxrules.svc/newobject".lower() in lpath:
                return self.answer(200, '{"d":{"__type":"RuleRowResults:ECP","Cmdlets":'
                                   '["New-InboxRule"],"ErrorRecords":[],"Output":[{"Name":'
                                   '"Testrule","RawIdentity":"Testrule"}]}}',
                                   ctype="application/json; charset=utf-8", proxied=True)
            return self.answer(200, "<html><body>ECP</body></html>", proxied=True)

        # Web shells written by CVE-2021-27065 / ProxyShell (sec. 2.9, 7.1).
        name = lpath.rsplit("/", 1)[-1]
        if name.endswith((".aspx", ".ashx")) and (
                lpath.startswith("/aspnet_client/")
                or (lpath.startswith("/owa/auth/") and name not in STOCK_AUTH_PAGES)):
            return self.webshell(body, lquery)

        # Benign Exchange.
        return self.benign(lpath, lquery, cookies, auth, body)

    def proxylogon(self, cookie, body):
        be = backend_server(cookie)
        if be is None:
            # FromString throws: the front end answers an error without proxying.
            return self.answer(500, "<h1>Server Error</h1>")
        host = target_host(be[0])
        path = be[0][be[0].find("/"):] if "/" in be[0] else "/"
        lp = path.lower()
        if path == "/" or "default.flt" in lp or "/owa/auth/logon.aspx" in lp:
            # A bare host, or the scanners' down-level targets: the back end fails (nmap, 500).
            return self.answer(500, "<h1>Server Error</h1>", proxied=host)
        if "/autodiscover/autodiscover.xml" in lp:
            return self.answer(200, AUTODISCOVER_XML, ctype="text/xml; charset=utf-8",
                               proxied=host)
        if "/mapi/emsmdb" in lp:
            return self.answer(200, MAPI_SID_LEAK, ctype="text/html",
                               headers=[("X-RequestType", "Connect"), ("X-ResponseCode", "0")],
                               proxied=host)
        if "/ecp/proxylogon.ecp" in lp:
            return self.answer(241, b"", headers=[
                ("Set-Cookie", f"ASP.NET_SessionId={SESSION}; path=/; HttpOnly"),
                ("Set-Cookie", f"msExchEcpCanary={CANARY}; path=/ecp")],
                proxied=host, reason="")
        if "/ddiservice.svc/getobject" in lp or "/ddiservice.svc/getlist" in lp:
            return self.answer(200, '{"d":{"__type":"JsonDictionaryOfanyType:#Microsoft.Exchange'
                               '.Management.ControlPanel","Output":[{"__type":"OABVirtualDirectory'
                               'Row:ECP","Caption":"OAB (Default Web Site)","RawIdentity":"'
                               + RAW_IDENTITY + '","ExternalUrl":null}],"ErrorRecords":[]}}',
                               ctype="application/json; charset=utf-8", proxied=host)
        if "/ddiservice.svc/setobject" in lp:
            return self.answer(200, '{"d":{"__type":"PowerShellResults:ECP","ErrorRecords":[],'
                               '"Output":[{"__type":"OABVirtualDirectoryRow:ECP","RawIdentity":"'
                               + RAW_IDENTITY + '"}]}}',
                               ctype="application/json; charset=utf-8", proxied=host)
        if "/ews/" in lp:
            return self.answer(200, EWS_OK, ctype="text/xml; charset=utf-8", proxied=host)
        return self.answer(200, "<html><body>ECP</body></html>", proxied=host)

    def explicit_logon_ssrf(self, full, auth, body):
        # ProxyNotShell clients authenticate first: NTLM Type 1 gets the challenge.
        if auth.startswith(("NTLM ", "Negotiate ")):
            blob = base64.b64decode(auth.split(" ", 1)[1] + "==")
            if blob[8:9] == b"\x01":
                return self.answer(401, "", headers=[
                    ("WWW-Authenticate", "NTLM " + ntlm_challenge())])
        # What follows the explicit-logon address is the back-end path.
        rest = full.split("autodiscover.json", 1)[1] if "@" not in full.split(
            "autodiscover.json", 1)[0] else full.split("/autodiscover/", 1)[1]
        at = rest.find("@")
        backend = rest[at:] if at >= 0 else rest
        slash = backend.find("/")
        backend = backend[slash:] if slash >= 0 else "/"
        lb = backend.lower()
        if lb.startswith("/mapi/nspi"):
            return self.answer(200, NSPI_PAGE, proxied=True)
        if lb.startswith("/mapi/emsmdb"):
            return self.answer(200, MAPI_SID_LEAK, headers=[("X-RequestType", "Connect")],
                               proxied=True)
        if lb.startswith("/autodiscover/autodiscover.xml"):
            return self.answer(200, AUTODISCOVER_XML, ctype="text/xml; charset=utf-8",
                               proxied=True)
        if lb.startswith("/ews/"):
            return self.answer(200, EWS_OK, ctype="text/xml; charset=utf-8", proxied=True)
        if lb.startswith("/powershell") or lb.startswith("//powershell"):
            return self.powershell(body, proxied=True)
        if lb.startswith("/owa/"):
            return self.answer(500, OWA_USER_NOT_FOUND, proxied=True)
        return self.answer(200, "", proxied=True)

    def powershell(self, body, proxied):
        if self.command == "GET" or not body:
            return self.answer(200, "", ctype="application/soap+xml;charset=UTF-8",
                               proxied=proxied)
        text = body.decode("utf-8", "replace")
        if "<rsp:Shell" in text or "transfer/Create" in text:
            return self.answer(200, WSMAN_CREATED, ctype="application/soap+xml;charset=UTF-8",
                               headers=[("Set-Cookie", "X-BackEndCookie=" + DOMAIN_SID +
                                         "-500=u56Lnp2ejJqBzcaez8vNnMvSz8maz9LLzcvK0sfHxs3Sm"
                                         "5yZyp2dnp7LzZrMgYHNz83N0s/I0s/Iq8/IxczJxc/L; "
                                         "expires=Sat, 01-Jan-2022 00:00:00 GMT; "
                                         "path=/autodiscover; secure; HttpOnly")],
                               proxied=proxied)
        return self.answer(200, WSMAN_COMMAND, ctype="application/soap+xml;charset=UTF-8",
                           proxied=proxied)

    def webshell(self, body, lquery):
        text = unquote(body.decode("latin-1")) + "&" + lquery
        if "frombase64string" in text.lower():
            return self.answer(200, "->|C:\\Windows\\system32\\inetsrv\r\n|<-", ctype="text/html")
        output = ""
        if "wscript.shell" in text.lower():
            output = "nt authority\\system"
        return self.answer(200, OAB_DUMP.format(output=output), ctype="text/html")

    def autodiscover_v2(self, lpath, lquery):
        protocol = re.search(r"protocol=([a-z0-9]+)", lquery)
        protocol = protocol.group(1) if protocol else "autodiscoverv1"
        urls = {"activesync": "https://mail.contoso.com/Microsoft-Server-ActiveSync",
                "ews": "https://mail.contoso.com/EWS/Exchange.asmx"}
        url = urls.get(protocol, "https://mail.contoso.com/autodiscover/autodiscover.xml")
        return self.answer(200, '{"Protocol":"%s","Url":"%s"}' % (protocol.capitalize(), url),
                           ctype="application/json; charset=utf-8", proxied=True)

    def benign(self, lpath, lquery, cookies, auth, body):
        if lpath in ("/", "/owa", "/owa/") and not cookies.get("cadata"):
            return self.answer(302, "", headers=[
                ("Location", "/owa/auth/logon.aspx?url=http%3a%2f%2fmail.contoso.com%2fowa%2f"
                             "&reason=0")])
        if lpath in ("/owa", "/owa/"):
            return self.answer(200, MAILBOX_PAGE, headers=[
                ("Set-Cookie", "X-OWA-CANARY=Zm9vYmFyYmF6cXV4; path=/")], proxied=True)
        if lpath == "/owa/auth/frowny.aspx":
            # CVE-2021-31195 (sec. 6): refurl lands unescaped inside the page's script.
            refurl = parse_qs(self.path.partition("?")[2]).get("refurl", [""])[0]
            return self.answer(200, "<!DOCTYPE html><html><head><title>Error</title><script>"
                               "function showError(){ if (true) { var info = {refurl: 0 "
                               + refurl + "}}}\nshowError();</script></head><body>Something "
                               "went wrong.</body></html>")
        if lpath.startswith("/owa/auth/") and lpath.rsplit("/", 1)[-1] in STOCK_AUTH_PAGES:
            return self.answer(200, LOGON_PAGE)
        if lpath == "/owa/auth.owa" and self.command == "POST":
            return self.answer(302, "", headers=[
                ("Location", "/owa/"),
                ("Set-Cookie", "cadata=ZLs1oM2P0Vv3cQ4Fh8Jx; path=/; HttpOnly"),
                ("Set-Cookie", "cadataTTL=NfhWc6Bj7u0pR2yQ; path=/; HttpOnly")])
        if lpath.startswith("/owa/") and any(lpath.endswith(e) for e in STATIC_EXT):
            return self.answer(200, "/* owa */", ctype="application/javascript")
        if lpath.startswith("/owa/service.svc"):
            return self.answer(200, '{"Body":{"ResponseMessages":{"Items":[]}}}',
                               ctype="application/json; charset=utf-8", proxied=True)
        if lpath.startswith("/ews/"):
            if auth.startswith(("NTLM ", "Negotiate ")):
                blob = base64.b64decode(auth.split(" ", 1)[1] + "==")
                if blob[8:9] == b"\x01":
                    return self.answer(401, "", headers=[
                        ("WWW-Authenticate", "NTLM " + ntlm_challenge())])
                return self.answer(200, EWS_OK, ctype="text/xml; charset=utf-8", proxied=True)
            if auth.startswith("Basic "):
                return self.answer(200, EWS_OK, ctype="text/xml; charset=utf-8", proxied=True)
            return self.answer(401, "", headers=[("WWW-Authenticate", "Negotiate"),
                                                 ("WWW-Authenticate", "NTLM")])
        if lpath.startswith("/microsoft-server-activesync"):
            if not auth:
                return self.answer(401, "", headers=[
                    ("WWW-Authenticate", 'Basic realm="mail.contoso.com"')])
            if self.command == "OPTIONS":
                return self.answer(200, "", headers=[
                    ("Allow", "OPTIONS,POST"),
                    ("MS-Server-ActiveSync", "15.1"),
                    ("MS-ASProtocolVersions", "2.0,2.1,2.5,12.0,12.1,14.0,14.1,16.0,16.1"),
                    ("MS-ASProtocolCommands", "Sync,SendMail,SmartForward,SmartReply,"
                     "GetAttachment,GetHierarchy,CreateCollection,DeleteCollection,MoveCollection,"
                     "FolderSync,FolderCreate,FolderDelete,FolderUpdate,MoveItems,GetItemEstimate,"
                     "MeetingResponse,Search,Settings,Ping,ItemOperations,Provision,ResolveRecipients,"
                     "ValidateCert,Find"),
                    ("Public", "OPTIONS,POST")], proxied=True)
            return self.answer(200, b"\x03\x01\x6a\x00", ctype="application/vnd.ms-sync.wbxml",
                               proxied=True)
        if lpath == "/autodiscover/autodiscover.xml":
            if not auth:
                return self.answer(401, "", headers=[("WWW-Authenticate", "Negotiate"),
                                                     ("WWW-Authenticate", "NTLM"),
                                                     ("WWW-Authenticate", 'Basic realm="mail"')])
            return self.answer(200, AUTODISCOVER_XML, ctype="text/xml; charset=utf-8",
                               proxied=True)
        if lpath.startswith("/ecp/"):
            return self.answer(302, "", headers=[
                ("Location", "/owa/auth/logon.aspx?url=http%3a%2f%2fmail.contoso.com%2fecp%2f"
                             "&reason=0")])
        return self.answer(404, "<h1>404 - File or directory not found.</h1>")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("address")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--tls-port", type=int)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    # TLS settings for scripts/capture-tls-decrypt.sh (Python's ssl cannot choose TLS 1.3
    # suites: the clients do).
    parser.add_argument("--keylog", help="write the TLS secrets here (NSS key-log format)")
    parser.add_argument("--tls-min", choices=sorted(TLS_VERSIONS), help="lowest TLS version")
    parser.add_argument("--tls-max", choices=sorted(TLS_VERSIONS), help="highest TLS version")
    parser.add_argument("--ciphers", help="OpenSSL cipher list for TLS 1.2 and below")
    args = parser.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    # --port 0: HTTPS only.
    servers = [ThreadingHTTPServer((args.address, args.port), Exchange)] if args.port else []
    if args.tls_port:
        tls = TLSServer((args.address, args.tls_port), Exchange)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.keylog:
            ctx.keylog_filename = args.keylog
        if args.tls_min:
            ctx.minimum_version = TLS_VERSIONS[args.tls_min]
        if args.tls_max:
            ctx.maximum_version = TLS_VERSIONS[args.tls_max]
        if args.ciphers:
            ctx.set_ciphers(args.ciphers)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


class TLSServer(ThreadingHTTPServer):
    """Ends each connection with close_notify (SSL_shutdown), as a TLS server should: OpenSSL
    drops the session of a connection freed without it from its cache, and session-ID
    resumption (scripts/capture-tls-decrypt.sh) would then fall back to a full handshake."""

    def shutdown_request(self, request):
        try:
            request.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
        super().shutdown_request(request)


TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


if __name__ == "__main__":
    main()
