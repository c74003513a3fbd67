#!/usr/bin/env bash
# dozor agent for @@INSTALLATION@@ (installation @@INSTALLATION_ID@@).
# Written by `dozor installation agent @@INSTALLATION_ID@@ --os linux` on @@GENERATED_AT@@.
# Nothing here needs editing: to change a setting, write the script again with dozor.
#
# Each run: asks the local Kodeks server for its sysinfo (and its metrics when
# a metrics account is set), looks at what the machine itself can tell (the
# newest operap file, the Kodeks service, the databases' storage, the main
# page), and sends all of it to dozor. When dozor cannot be reached, files
# wait in ./spool (the files of SPOOL_MAX runs at most: two days of hourly
# runs) and go, oldest first, next time.
# One line per run in ./dozor-agent.log; the exit code is not 0 when something failed.
set -u
export LC_ALL=C

DOZOR_URL=@@DOZOR_URL@@
TOKEN=@@TOKEN@@
NAME=@@NAME@@
KODEKS_URL=@@KODEKS_URL@@
METRICS_USER=@@METRICS_USER@@
METRICS_PASSWORD=@@METRICS_PASSWORD@@
PROXY=@@PROXY@@
OPERAP_DIR=@@OPERAP_DIR@@
SERVICE=@@SERVICE@@
STORAGE=@@STORAGE@@
SPOOL_MAX=48
# What waits in the spool (a sysinfo, metrics) is for dozor only: readable by this user alone.
umask 077

HERE="$(cd "$(dirname "$0")" && pwd)"
SPOOL="$HERE/spool"
LOG="$HERE/dozor-agent.log"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$SPOOL" && chmod 700 "$SPOOL"
# One run at a time: a run on a slow line may outlast the hour, and two would send the same files.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$HERE/.dozor-agent.lock"
  if ! flock -n 9; then
    echo "$(date +%Y-%m-%dT%H:%M:%S%:z) the previous run is still going; this one stops" | tee -a "$LOG"
    exit 1
  fi
fi
# To the nanosecond: two runs in one second keep their files apart, and names sort by time.
STAMP="$(date +%Y%m%d%H%M%S%N)"
problems=""

# Secrets reach curl on its standard input (-K -), never on a command line that `ps` shows.
curl_option() { # name value: one line of curl's config format
  printf '%s = "%s"\n' "$1" "$(printf '%s' "$2" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

to_dozor() { # curl towards dozor with the token, through the proxy when one is set
  { curl_option header "Authorization: Bearer $TOKEN"; [ -z "$PROXY" ] || curl_option proxy "$PROXY"; } | curl -K - "$@"
}

xml_escape() {
  printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

# --- the Kodeks server --------------------------------------------------------
# The main page first: how it answers, and the session cookie the sysinfo request carries.
main_page="$(curl -s -c "$WORK/jar" -o /dev/null -w '%{http_code}' --max-time 20 "$KODEKS_URL/" 2>/dev/null)"
[ -n "$main_page" ] || main_page="000"
if [ "$main_page" = "000" ]; then
  problems="$problems kodeks-no-answer"
else
  status="$(curl -s --max-time 600 -c "$WORK/jar" -b "$WORK/jar" -d type=zip -o "$WORK/sysinfo" -w '%{http_code}' "$KODEKS_URL/sysinfo/si_save_request" 2>/dev/null)"
  if [ "$status" = "200" ] && [ -s "$WORK/sysinfo" ]; then
    # An archive starts with PK; older servers answer with the XML itself.
    if [ "$(head -c 2 "$WORK/sysinfo")" = "PK" ]; then kind=zip; else kind=xml; fi
    mv "$WORK/sysinfo" "$SPOOL/$STAMP-1-$NAME.$kind"
  else
    problems="$problems sysinfo-$status"
  fi
  if [ -n "$METRICS_USER" ]; then
    status="$(curl_option user "$METRICS_USER:$METRICS_PASSWORD" | curl -K - -s --max-time 60 -D "$WORK/headers" -o "$WORK/metrics" -w '%{http_code}' "$KODEKS_URL/sysmon/metrics" 2>/dev/null)"
    if [ "$status" = "200" ]; then
      { grep -i '^date:' "$WORK/headers" | head -n 1 | tr -d '\r'; cat "$WORK/metrics"; } > "$SPOOL/$STAMP-2-$NAME.status"
    else
      problems="$problems metrics-$status"
    fi
  fi
fi

# --- what the machine itself can tell ----------------------------------------
{
  printf '<?xml version="1.0" encoding="UTF-8"?>\n'
  printf '<report version="1" id="agent-%s-%s" generated-at="%s">\n' "$NAME" "$STAMP" "$(date +%Y-%m-%dT%H:%M:%S%:z)"
  if [ -n "$OPERAP_DIR" ] && [ -d "$OPERAP_DIR" ]; then
    newest="$(find "$OPERAP_DIR" -type f -printf '%T@ %TY-%Tm-%Td\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2)"
    [ -n "$newest" ] && printf '  <update operap-date="%s"/>\n' "$newest"
  elif [ -n "$OPERAP_DIR" ]; then
    problems="$problems operap-dir-missing"
  fi
  # Whether the service works is said every run, by what its users meet: the main page answering (with any HTTP
  # status) is the Kodeks server at work; no answer at all is a server that is down for them, whatever systemd says.
  if [ "$main_page" = "000" ]; then state=stopped; else state=running; fi
  # The account comes from systemd alone; where it cannot say (no such unit, no systemd to ask), it is left out.
  load=""
  if [ -n "$SERVICE" ]; then
    if command -v systemctl >/dev/null 2>&1; then load="$(systemctl show -p LoadState --value "$SERVICE" 2>/dev/null)"; fi
    case "$load" in
      not-found) problems="$problems service-not-found" ;;
      loaded) ;;
      *) problems="$problems service-manager-unreachable" ;;
    esac
  fi
  if [ "$load" = "loaded" ]; then
    user="$(systemctl show -p User --value "$SERVICE" 2>/dev/null)"
    if [ -z "$user" ] || [ "$user" = "root" ]; then account=system; else account=user; fi
    printf '  <service state="%s" account="%s"/>\n' "$state" "$account"
  else
    printf '  <service state="%s"/>\n' "$state"
  fi
  if [ -n "$STORAGE" ]; then
    # A share that hangs (a dead NFS or CIFS mount) is as unreachable as one that refuses: a run never waits on it.
    if timeout 20 ls "$STORAGE" >/dev/null 2>&1; then reachable=true; else reachable=false; fi
    printf '  <storage path="%s" reachable="%s"/>\n' "$(xml_escape "$STORAGE")" "$reachable"
  fi
  printf '</report>\n'
} > "$SPOOL/$STAMP-0-$NAME.report"

# --- send what waits, oldest first ---------------------------------------------
# dozor's answer decides: 2xx taken; 400, 401, 403, 413 and 415 refused for good (it says why, and keeping the file
# would block the rest); anything else (408 from a line too slow, 429, 5xx, no answer) is tried again next run. A
# file upload that must wait holds back the files after it but not the reports, which are small and say the most.
sent=0
uploads_wait=""
for file in $(ls "$SPOOL" | sort); do
  path="$SPOOL/$file"
  case "$file" in
    *.report) status="$(to_dozor -s --max-time 60 -o "$WORK/answer" -w '%{http_code}' -H 'Content-Type: application/xml' --data-binary "@$path" "$DOZOR_URL/api/v1/reports" 2>/dev/null)" ;;
    *) [ -z "$uploads_wait" ] || continue
      # A slow line may take long: dozor waits for as long as the file keeps moving, curl gives up after 40 minutes.
      status="$(to_dozor -s --max-time 2400 -o "$WORK/answer" -w '%{http_code}' -H 'upload: yes' -F "file=@$path;filename=${file#*-*-}" "$DOZOR_URL/upload" 2>/dev/null)" ;;
  esac
  case "$status" in
    2??) rm -f "$path"; sent=$((sent + 1)) ;;
    400|401|403|413|415)
      problems="$problems refused-$file-$status:$(head -c 200 "$WORK/answer" | tr -d '\n')"; rm -f "$path" ;;
    000|"") problems="$problems dozor-unreachable"; break ;;
    *) case "$file" in
         *.report) problems="$problems dozor-busy-$status"; break ;;
         *) problems="$problems upload-later-$file-$status"; uploads_wait=1 ;;
       esac ;;
  esac
done

# Bounded spool: when dozor has been away long, the oldest runs go first, each run's files together.
runs="$(ls "$SPOOL" | cut -d- -f1 | sort -u | wc -l)"
if [ "$runs" -gt "$SPOOL_MAX" ]; then
  ls "$SPOOL" | cut -d- -f1 | sort -u | head -n "$((runs - SPOOL_MAX))" | while read -r run; do rm -f "$SPOOL/$run"-*; done
fi
waiting="$(ls "$SPOOL" | wc -l)"

line="$(date +%Y-%m-%dT%H:%M:%S%:z) main page $main_page, sent $sent, waiting $waiting${problems:+; problems:$problems}"
# The log keeps its last thousand lines or so: a year of hourly runs is not needed on the server.
if [ -f "$LOG" ] && [ "$(wc -l < "$LOG")" -gt 2000 ]; then tail -n 1000 "$LOG" > "$LOG.tmp" && mv "$LOG.tmp" "$LOG"; fi
echo "$line" >> "$LOG"
echo "$line"
[ -z "$problems" ]
