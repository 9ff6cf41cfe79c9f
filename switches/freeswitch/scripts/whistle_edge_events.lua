-- whistle_edge_events.lua: tell the Whistle Edge about registration changes and heartbeats, and
-- lose none of them when the edge cannot be reached.
--
-- One file, three ways of running:
--
-- * As the event hook (lua.conf.xml binds it to CUSTOM sofia::register, sofia::unregister,
--   sofia::expire and to HEARTBEAT). mod_lua runs it in a fresh Lua state for every event, on the
--   event-dispatch thread, with the event in the global `event`. It only builds the post body and
--   hands it to `bgapi lua whistle_edge_events.lua post ...` (a thread of its own): it never waits
--   for the edge.
-- * `post KIND STAMP BODY` (in that bgapi thread): posts the event at once, unless events wait in
--   the spool (then it joins the end of the queue, so the edge gets them in order). An event the
--   edge did not answer (connection refused, timeout, HTTP 5xx, 401, 408, 429) goes to the spool.
-- * `deliver` (a bgapi thread; at most one per switch at a time, through a lease in the spool's
--   database): replays the spool oldest first, retrying with a growing pause (1 s up to 5 s),
--   until it is empty.
--
-- The spool is a table in FreeSWITCH's own SQLite (db directory, whistle_edge_spool.db), so
-- it survives a restart; the next event or heartbeat starts the replay again.
--
-- While the edge cannot be reached, the switch's SIP profiles are put in standby (`sofia global
-- standby on`): a REGISTER, INVITE or OPTIONS gets 503 "System Paused" instead of the 403 a failed
-- directory request would give, so phones try again rather than take their password for wrong, and
-- a load balancer checking with OPTIONS sends them to another switch. The first answer from the
-- edge ends the standby.
--
-- A failed directory request reports to no script, but the 403 it ends in fires
-- sofia::register_failure (for a REGISTER and for an INVITE). That event is also what a wrong
-- password fires, so it never puts the switch in standby by itself: it only makes the hook ask the
-- edge at once (the event is posted as a heartbeat, which the edge answers and otherwise ignores),
-- and standby follows only when that post finds the edge unreachable. At most one such probe every
-- PROBE_GAP_S seconds, none while in standby (the deliverer is already asking), so a burst of wrong
-- passwords adds at most one edge request per PROBE_GAP_S to the directory requests it costs.
--
-- Reads two global variables set in vars-edge.xml: edge_url and edge_switch_credential.

local LOG_PREFIX = "whistle_edge_events: "
local SCRIPT = "whistle_edge_events.lua"
-- Spool bounds: rows kept at most (the oldest are dropped beyond), a deliverer's lease, the pauses
-- between failed attempts, and how long a deliverer keeps trying before it leaves the spool to the
-- next event or heartbeat.
local SPOOL_LIMIT = 10000
local LEASE_MS = 15000
local MAX_PAUSE_MS = 5000
local GIVE_UP_MS = 300000
-- Seconds between two probes after a refused registration (whole seconds: strepoch's).
local PROBE_GAP_S = 2

-- Log a warning once per FreeSWITCH run. A Lua global would not survive between events (each
-- event gets a new Lua state), so the "already warned" mark is a FreeSWITCH global variable.
local function warn_once(message)
  if freeswitch.getGlobalVariable("edge_events_warned") ~= "true" then
    freeswitch.setGlobalVariable("edge_events_warned", "true")
    freeswitch.consoleLog("WARNING", LOG_PREFIX .. message .. "\n")
  end
end

-- Percent-encode every byte outside A-Z a-z 0-9 - _ . ~ as %XX.
local function percent_encode(text)
  local encoded = text:gsub("[^A-Za-z0-9%-_%.~]", function(char)
    return string.format("%%%02X", string.byte(char))
  end)
  return encoded
end

-- The edge's URL and this switch's credential, or nil (with a warning) when unusable.
local function edge_settings()
  local edge_url = freeswitch.getGlobalVariable("edge_url")
  local credential = freeswitch.getGlobalVariable("edge_switch_credential")
  if not edge_url or edge_url == "" or not credential or credential == "" then
    warn_once("edge_url or edge_switch_credential is not set (vars-edge.xml); events are not posted")
    return nil
  end
  -- mod_curl splits its arguments on spaces: a space in either value would break the command.
  if edge_url:find("%s") or not credential:find("^[A-Za-z0-9._-]+$") then
    warn_once("edge_url or edge_switch_credential has a space or an unexpected character; events are not posted")
    return nil
  end
  return edge_url:gsub("/+$", ""), credential
end

-- ── the hook ──────────────────────────────────────────────────────────────────────────────────

local function epoch_seconds()
  return math.floor(tonumber(freeswitch.API():execute("strepoch", "")) or os.time())
end

-- A refused REGISTER or INVITE (sofia::register_failure): a wrong password, or a directory request
-- that got no answer. Whether the edge can be reached is asked now rather than at the next
-- heartbeat. False when no probe is due.
local function probe_due()
  if freeswitch.getGlobalVariable("edge_standby") == "true" then return false end
  local now = epoch_seconds()
  local last = tonumber(freeswitch.getGlobalVariable("edge_probe_at") or "") or 0
  if now >= last and now - last < PROBE_GAP_S then return false end
  freeswitch.setGlobalVariable("edge_probe_at", tostring(now))
  return true
end

local function hook()
  -- Which events to post. Anything else bound here by mistake is ignored.
  local name = event:getHeader("Event-Name")
  local subclass = event:getHeader("Event-Subclass")
  local POSTED_SUBCLASSES = {
    ["sofia::register"] = true,
    ["sofia::unregister"] = true,
    ["sofia::expire"] = true,
  }
  local probe = name == "CUSTOM" and subclass == "sofia::register_failure"
  if not (name == "HEARTBEAT" or probe or (name == "CUSTOM" and POSTED_SUBCLASSES[subclass])) then
    return
  end

  -- A refresh the edge already recorded while answering the directory request: its answer set
  -- the user variable edge_binding=refreshed, which comes back in this event. Skip it, so a
  -- refresh costs one edge request. Only sofia::register is skipped: an unregister carries the
  -- same variable and must always reach the edge.
  if subclass == "sofia::register" and event:getHeader("edge_binding") == "refreshed" then
    return
  end

  if not edge_settings() then return end
  if probe and not probe_due() then return end

  -- mod_curl URL-decodes the post data once before sending it, so the form value is encoded
  -- twice: the edge's form parser then gets the exact JSON back.
  local body = "event=" .. percent_encode(percent_encode(event:serialize("json")))
  -- The switch's clock (µs) orders the spool; the edge compares it with the binding's own stamp.
  local stamp = event:getHeader("Event-Date-Timestamp") or ""
  if not stamp:find("^%d+$") then stamp = "0" end
  -- A probe goes as a heartbeat: never queued behind spooled events, kept only to learn when the edge is back.
  local kind = (name == "HEARTBEAT" or probe) and "heartbeat" or "event"

  freeswitch.consoleLog("DEBUG", LOG_PREFIX .. (probe and "a refused registration: asking the edge with " or "posting ") .. (subclass or name) .. "\n")
  freeswitch.API():execute("bgapi", table.concat({ "lua", SCRIPT, "post", kind, stamp, body }, " "))
end

-- ── the spool ─────────────────────────────────────────────────────────────────────────────────

local function now_ms()
  return epoch_seconds() * 1000
end

local function open_spool()
  local dbh = freeswitch.Dbh("sqlite://whistle_edge_spool")
  if not dbh:connected() then
    freeswitch.consoleLog("ERR", LOG_PREFIX .. "cannot open the spool database\n")
    return nil
  end
  -- The tables are made once per FreeSWITCH run (the mark is a global variable, like warn_once's).
  if freeswitch.getGlobalVariable("edge_spool_ready") ~= "true" then
    dbh:query("CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, stamp INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL)")
    dbh:query("CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL)")
    dbh:query("INSERT OR IGNORE INTO lease (name, holder, until_ms) VALUES ('deliver', '', 0)")
    freeswitch.setGlobalVariable("edge_spool_ready", "true")
  end
  return dbh
end

-- Values written into SQL here are digits, the kind names and percent-encoded bodies
-- ([A-Za-z0-9%-_.~=] only): nothing that could close a quote.
local function spool_put(dbh, kind, stamp, body)
  dbh:query(string.format("INSERT INTO spool (stamp, kind, body) VALUES (%s, '%s', '%s')", stamp, kind, body))
  local count = 0
  dbh:query("SELECT COUNT(*) AS n FROM spool", function(row) count = tonumber(row.n) or 0 end)
  if count > SPOOL_LIMIT then
    dbh:query(string.format("DELETE FROM spool WHERE id IN (SELECT id FROM spool ORDER BY stamp, id LIMIT %d)", count - SPOOL_LIMIT))
    freeswitch.consoleLog("WARNING", LOG_PREFIX .. "spool full: dropped the " .. (count - SPOOL_LIMIT) .. " oldest events\n")
  end
end

local function spool_oldest(dbh)
  local oldest = nil
  dbh:query("SELECT id, kind, body FROM spool ORDER BY stamp, id LIMIT 1", function(row)
    oldest = row
    return 1
  end)
  return oldest
end

-- ── talking to the edge ──────────────────────────────────────────────────────────────────────

-- Post one body; answers the HTTP status (0 when there was no answer at all).
local function post_body(body)
  local edge_url, credential = edge_settings()
  if not edge_url then return nil end
  -- mod_curl's curl API takes at most 10 arguments (the URL included); this uses 9. "json" makes
  -- it answer the status with the body; "secure" makes it verify the edge's TLS certificate.
  local command = table.concat({
    edge_url .. "/freeswitch/v1/events",
    "json",
    "append_headers", "X-Edge-Token:" .. credential,
    "timeout", "2",
    "secure",
    "post", body,
  }, " ")
  local answer = freeswitch.API():execute("curl", command) or ""
  return tonumber(answer:match('"status_code"%s*:%s*"?(%d+)')) or 0
end

-- What an answer means for the event: "delivered", "refused" (the edge will never take it: a
-- malformed, unproven or stale event; dropped), or "retry" (kept in the spool).
local function verdict(status)
  if status == nil then return "refused" end
  if status >= 200 and status < 300 then return "delivered" end
  if status == 400 or status == 403 or status == 404 or status == 413 or status == 422 then return "refused" end
  return "retry"
end

local function unreachable(status)
  return status == 0 or status >= 500
end

-- Standby on or off, switched only on a change (the FreeSWITCH global variable remembers).
-- Posts and the deliverer run in threads of their own, so two of them can decide at once: one
-- that just reached the edge (off) and one whose post started before the edge came back and has
-- only now timed out (on). Setting the variable and running the command are two steps, so the
-- commands could land in the opposite order of the variable's writes and leave the profiles in
-- standby with the variable saying "false", after which no later answer would switch it off.
-- So after each command the variable is read again and, when another thread changed it
-- meanwhile, its value is applied too: the last command run always matches the variable.
local function standby(on)
  local wanted = on and "true" or "false"
  if (freeswitch.getGlobalVariable("edge_standby") or "false") == wanted then return end
  freeswitch.setGlobalVariable("edge_standby", wanted)
  freeswitch.consoleLog(on and "WARNING" or "NOTICE", LOG_PREFIX .. (on and "the edge cannot be reached: SIP profiles in standby (503)\n" or "the edge answers again: standby off\n"))
  for _ = 1, 10 do
    freeswitch.API():execute("sofia", "global standby " .. (wanted == "true" and "on" or "off"))
    local now = freeswitch.getGlobalVariable("edge_standby") or "false"
    if now == wanted then return end
    wanted = now
  end
end

local function start_deliverer()
  freeswitch.API():execute("bgapi", "lua " .. SCRIPT .. " deliver")
end

-- ── post ─────────────────────────────────────────────────────────────────────────────────────

local function post(kind, stamp, body)
  local dbh = open_spool()
  if dbh and spool_oldest(dbh) then
    -- Events wait: this one goes behind them. A heartbeat is not queued; it only wakes the deliverer.
    if kind ~= "heartbeat" then spool_put(dbh, kind, stamp, body) end
    dbh:release()
    start_deliverer()
    return
  end
  local status = post_body(body)
  local outcome = verdict(status)
  if outcome == "refused" and status then
    freeswitch.consoleLog("WARNING", LOG_PREFIX .. "the edge refused the " .. kind .. " (HTTP " .. status .. ")\n")
  end
  if outcome ~= "retry" then
    if dbh then dbh:release() end
    if status then standby(false) end
    return
  end
  freeswitch.consoleLog("WARNING", LOG_PREFIX .. "no answer from the edge (HTTP " .. status .. "): " .. kind .. " kept for replay\n")
  if unreachable(status) then standby(true) end
  if dbh then
    -- A failed heartbeat is kept too: the deliverer's attempts at it tell when the edge is back.
    spool_put(dbh, kind, stamp, body)
    dbh:release()
    start_deliverer()
  end
end

-- ── deliver ──────────────────────────────────────────────────────────────────────────────────

local function deliver()
  local dbh = open_spool()
  if not dbh then return end
  local me = freeswitch.API():execute("create_uuid", "") or tostring(os.time())
  me = me:gsub("[^%w%-]", "")
  local function hold()
    dbh:query(string.format("UPDATE lease SET holder = '%s', until_ms = %d WHERE name = 'deliver' AND (holder = '%s' OR holder = '' OR until_ms < %d)", me, now_ms() + LEASE_MS, me, now_ms()))
    local held = false
    dbh:query("SELECT holder FROM lease WHERE name = 'deliver'", function(row) held = row.holder == me end)
    return held
  end
  local function let_go()
    dbh:query(string.format("UPDATE lease SET holder = '', until_ms = 0 WHERE name = 'deliver' AND holder = '%s'", me))
  end

  if not hold() then
    dbh:release()
    return
  end
  local pause = 0
  local failing_since = nil
  while true do
    if freeswitch.running and not freeswitch.running() then break end
    if not hold() then break end
    local row = spool_oldest(dbh)
    if not row then
      let_go()
      -- An event queued between the last read and letting go would wait for the next wake-up.
      if not spool_oldest(dbh) or not hold() then break end
    else
      local status = post_body(row.body)
      local outcome = verdict(status)
      if outcome ~= "retry" then
        if outcome == "refused" and status then
          freeswitch.consoleLog("WARNING", LOG_PREFIX .. "the edge refused a replayed " .. row.kind .. " (HTTP " .. status .. "); dropped\n")
        end
        dbh:query("DELETE FROM spool WHERE id = " .. tonumber(row.id))
        if status then standby(false) end
        pause = 0
        failing_since = nil
      else
        if unreachable(status) then standby(true) end
        failing_since = failing_since or now_ms()
        if now_ms() - failing_since > GIVE_UP_MS then
          let_go()
          break
        end
        pause = math.min(math.max(pause * 2, 1000), MAX_PAUSE_MS)
        freeswitch.msleep(pause)
      end
    end
  end
  dbh:release()
end

-- ── which way this run goes ──────────────────────────────────────────────────────────────────

local mode = argv and argv[1]
if mode == "post" then
  local kind, stamp, body = argv[2], argv[3], argv[4]
  if (kind == "event" or kind == "heartbeat") and stamp and stamp:find("^%d+$") and body and body:find("^event=[A-Za-z0-9%%%-_.~]*$") then
    post(kind, stamp, body)
  else
    freeswitch.consoleLog("ERR", LOG_PREFIX .. "post: malformed arguments\n")
  end
elseif mode == "deliver" then
  deliver()
elseif event then
  hook()
end
