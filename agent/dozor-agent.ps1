# dozor agent for @@INSTALLATION@@ (installation @@INSTALLATION_ID@@).
# Written by `dozor installation agent @@INSTALLATION_ID@@ --os windows` on @@GENERATED_AT@@.
# Nothing here needs editing: to change a setting, write the script again with dozor.
#
# Each run: asks the local Kodeks server for its sysinfo (and its metrics when
# a metrics account is set), looks at what the machine itself can tell (the
# newest operap file, the Kodeks service, the databases' storage, the main
# page), and sends all of it to dozor with curl.exe (shipped with Windows 10
# and Server 2019 onwards). When dozor cannot be reached, files wait in
# .\spool (the files of $SpoolMax runs at most: two days of hourly runs) and
# go, oldest first, next time. One line per
# run in .\dozor-agent.log; the exit code is not 0 when something failed.
$ErrorActionPreference = 'Continue'

$DozorUrl = @@DOZOR_URL@@
$Token = @@TOKEN@@
$Name = @@NAME@@
$KodeksUrl = @@KODEKS_URL@@
$MetricsUser = @@METRICS_USER@@
$MetricsPassword = @@METRICS_PASSWORD@@
$Proxy = @@PROXY@@
$OperapDir = @@OPERAP_DIR@@
$Service = @@SERVICE@@
$Storage = @@STORAGE@@
$SpoolMax = 48

$Here = $PSScriptRoot
# Task Scheduler starts it in System32: everything it keeps is beside the script.
Set-Location -LiteralPath $Here
$Spool = Join-Path $Here 'spool'
$Log = Join-Path $Here 'dozor-agent.log'
$Work = Join-Path ([System.IO.Path]::GetTempPath()) ('dozor-agent-' + [guid]::NewGuid())
$NewSpool = -not (Test-Path -LiteralPath $Spool)
New-Item -ItemType Directory -Force -Path $Spool, $Work | Out-Null
# What waits in the spool (a sysinfo, metrics) is for dozor only: SYSTEM and Administrators, no one else.
if ($NewSpool) { & icacls.exe $Spool /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null }
# To a tenth of a microsecond: two runs in one second keep their files apart, and names sort by time.
$Stamp = Get-Date -Format 'yyyyMMddHHmmssfffffff'
$Problems = @()

# One run at a time: a run on a slow line may outlast the hour, and two would send the same files.
$Running = New-Object System.Threading.Mutex($false, 'Global\dozor-agent-@@INSTALLATION_ID@@')
$Mine = $false
try { $Mine = $Running.WaitOne(0) } catch [System.Threading.AbandonedMutexException] { $Mine = $true }
if (-not $Mine) {
  $Line = '{0} the previous run is still going; this one stops' -f (Get-Date -Format 'yyyy-MM-ddTHH:mm:sszzz')
  Add-Content -Path $Log -Value $Line
  Write-Output $Line
  exit 1
}

# Secrets reach curl.exe on its standard input (-K -), never on a command line other processes can read.
$OutputEncoding = New-Object System.Text.UTF8Encoding $false
function CurlOption([string]$Name, [string]$Value) { '{0} = "{1}"' -f $Name, ($Value -replace '\\', '\\' -replace '"', '\"') }

function ToDozor([string[]]$Arguments) {
  $Options = @(CurlOption 'header' "Authorization: Bearer $Token")
  if ($Proxy) { $Options += CurlOption 'proxy' $Proxy }
  ($Options -join "`n") | & curl.exe -K - @Arguments
}

function XmlEscape([string]$Text) { [System.Security.SecurityElement]::Escape($Text) }

# --- the Kodeks server --------------------------------------------------------
# The main page first: how it answers, and the session cookie the sysinfo request carries.
$Jar = Join-Path $Work 'jar'
$MainPage = (& curl.exe -s -c $Jar -o NUL -w '%{http_code}' --max-time 20 "$KodeksUrl/") 2>$null
if (-not $MainPage) { $MainPage = '000' }
if ($MainPage -eq '000') {
  $Problems += 'kodeks-no-answer'
} else {
  $Sysinfo = Join-Path $Work 'sysinfo'
  $Status = & curl.exe -s --max-time 600 -c $Jar -b $Jar -d 'type=zip' -o $Sysinfo -w '%{http_code}' "$KodeksUrl/sysinfo/si_save_request"
  if ($Status -eq '200' -and (Test-Path $Sysinfo) -and (Get-Item $Sysinfo).Length -gt 0) {
    # An archive starts with PK; older servers answer with the XML itself. Only two bytes of it are read.
    $Stream = [System.IO.File]::OpenRead($Sysinfo)
    $Head = New-Object byte[] 2
    [void]$Stream.Read($Head, 0, 2)
    $Stream.Close()
    $Kind = if ($Head[0] -eq 0x50 -and $Head[1] -eq 0x4B) { 'zip' } else { 'xml' }
    Move-Item $Sysinfo (Join-Path $Spool "$Stamp-1-$Name.$Kind")
  } else {
    $Problems += "sysinfo-$Status"
  }
  if ($MetricsUser) {
    $Headers = Join-Path $Work 'headers'
    $Metrics = Join-Path $Work 'metrics'
    $Status = (CurlOption 'user' "${MetricsUser}:${MetricsPassword}") | & curl.exe -K - -s --max-time 60 -D $Headers -o $Metrics -w '%{http_code}' "$KodeksUrl/sysmon/metrics"
    if ($Status -eq '200') {
      $DateLine = (Get-Content $Headers | Where-Object { $_ -match '^date:' } | Select-Object -First 1)
      $Body = [System.IO.File]::ReadAllText($Metrics)
      [System.IO.File]::WriteAllText((Join-Path $Spool "$Stamp-2-$Name.status"), "$DateLine`n$Body")
    } else {
      $Problems += "metrics-$Status"
    }
  }
}

# --- what the machine itself can tell ----------------------------------------
$Report = @('<?xml version="1.0" encoding="UTF-8"?>')
$Report += '<report version="1" id="agent-{0}-{1}" generated-at="{2}">' -f $Name, $Stamp, (Get-Date -Format 'yyyy-MM-ddTHH:mm:sszzz')
if ($OperapDir -and (Test-Path -LiteralPath $OperapDir)) {
  $Newest = Get-ChildItem -LiteralPath $OperapDir -Recurse -File -ErrorAction SilentlyContinue | Sort-Object LastWriteTime | Select-Object -Last 1
  if ($Newest) { $Report += '  <update operap-date="{0}"/>' -f $Newest.LastWriteTime.ToString('yyyy-MM-dd', [System.Globalization.CultureInfo]::InvariantCulture) }
} elseif ($OperapDir) {
  $Problems += 'operap-dir-missing'
}
# The service as Windows describes it (Win32_Service: the same State and StartName as sc query / sc qc, in any display language).
$Svc = $null
if ($Service) {
  $Wql = $Service -replace '\\', '\\' -replace "'", "\'"
  $Svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Wql' OR DisplayName='$Wql'" -ErrorAction SilentlyContinue | Select-Object -First 1
  # A service name that is wrong tells nothing about the account: said in the log.
  if (-not $Svc) { $Problems += 'service-not-found' }
}
# Whether the service works is said every run, by what its users meet: the main page answering (with any HTTP
# status) is the Kodeks server at work; no answer at all is a server that is down for them, whatever Windows says.
$State = if ($MainPage -eq '000') { 'stopped' } else { 'running' }
if ($Svc) {
  $Account = if ($Svc.StartName -match '^(LocalSystem|NT AUTHORITY\\)') { 'system' } else { 'user' }
  $Report += '  <service state="{0}" account="{1}"/>' -f $State, $Account
} else {
  $Report += '  <service state="{0}"/>' -f $State
}
if ($Storage) {
  $Reachable = if (Test-Path -LiteralPath $Storage) { 'true' } else { 'false' }
  $Report += '  <storage path="{0}" reachable="{1}"/>' -f (XmlEscape $Storage), $Reachable
}
$Report += '</report>'
[System.IO.File]::WriteAllText((Join-Path $Spool "$Stamp-0-$Name.report"), ($Report -join "`n"), (New-Object System.Text.UTF8Encoding $false))

# --- send what waits, oldest first ---------------------------------------------
# dozor's answer decides: 2xx taken; 400, 401, 403, 413 and 415 refused for good (it says why, and keeping the file
# would block the rest); anything else (408 from a line too slow, 429, 5xx, no answer) is tried again next run. A
# file upload that must wait holds back the files after it but not the reports, which are small and say the most.
$Sent = 0
$UploadsWait = $false
$Answer = Join-Path $Work 'answer'
foreach ($File in (Get-ChildItem -Path $Spool -File | Sort-Object Name)) {
  $IsReport = $File.Extension -eq '.report'
  if ($IsReport) {
    $Status = ToDozor @('-s', '--max-time', '60', '-o', $Answer, '-w', '%{http_code}', '-H', 'Content-Type: application/xml', '--data-binary', "@$($File.FullName)", "$DozorUrl/api/v1/reports")
  } else {
    if ($UploadsWait) { continue }
    $SentAs = $File.Name -replace '^[0-9]+-[0-9]-', ''
    # A slow line may take long: dozor waits for as long as the file keeps moving, curl.exe gives up after 40 minutes.
    $Status = ToDozor @('-s', '--max-time', '2400', '-o', $Answer, '-w', '%{http_code}', '-H', 'upload: yes', '-F', "file=@$($File.FullName);filename=$SentAs", "$DozorUrl/upload")
  }
  if ($Status -match '^2') { Remove-Item $File.FullName; $Sent++ }
  elseif ($Status -match '^(400|401|403|413|415)$') {
    # dozor says why in its answer: the first 200 characters of it go into the log line.
    $Why = if (Test-Path $Answer) { ([System.IO.File]::ReadAllText($Answer) -replace '\s+', ' ') } else { '' }
    $Problems += "refused-$($File.Name)-$Status`:$($Why.Substring(0, [Math]::Min(200, $Why.Length)))"
    Remove-Item $File.FullName
  }
  elseif (-not $Status -or $Status -eq '000') { $Problems += 'dozor-unreachable'; break }
  elseif ($IsReport) { $Problems += "dozor-busy-$Status"; break }
  else { $Problems += "upload-later-$($File.Name)-$Status"; $UploadsWait = $true }
}

# Bounded spool: when dozor has been away long, the oldest runs go first, each run's files together.
$Runs = @(Get-ChildItem -Path $Spool -File | Group-Object { $_.Name.Split('-')[0] } | Sort-Object Name)
if ($Runs.Count -gt $SpoolMax) { $Runs | Select-Object -First ($Runs.Count - $SpoolMax) | ForEach-Object { $_.Group | Remove-Item } }
$Waiting = @(Get-ChildItem -Path $Spool -File)
Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue

$Line = '{0} main page {1}, sent {2}, waiting {3}' -f (Get-Date -Format 'yyyy-MM-ddTHH:mm:sszzz'), $MainPage, $Sent, @($Waiting).Count
if ($Problems.Count -gt 0) { $Line += '; problems: ' + ($Problems -join ' ') }
# The log keeps its last thousand lines or so: a year of hourly runs is not needed on the server.
if ((Test-Path $Log) -and @(Get-Content $Log).Count -gt 2000) { Set-Content -Path $Log -Value (Get-Content $Log | Select-Object -Last 1000) }
Add-Content -Path $Log -Value $Line
Write-Output $Line
if ($Problems.Count -gt 0) { exit 1 } else { exit 0 }
