-- whistle_edge_events.lua: tell the Whistle Edge about registration changes and heartbeats.
--
-- Bound in lua.conf.xml to CUSTOM sofia::register, sofia::unregister, sofia::expire and to
-- HEARTBEAT. mod_lua runs this file in a fresh Lua state for every event, on the event-dispatch
-- thread, with the event in the global `event`. So the script posts through bgapi (its own
-- thread) and never waits for the edge.
--
-- Reads two global variables set in vars-edge.xml: edge_url and edge_switch_credential.

local LOG_PREFIX = "whistle_edge_events: "

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

-- Which events to post. Anything else bound here by mistake is ignored.
local name = event:getHeader("Event-Name")
local subclass = event:getHeader("Event-Subclass")
local POSTED_SUBCLASSES = {
  ["sofia::register"] = true,
  ["sofia::unregister"] = true,
  ["sofia::expire"] = true,
}
if not (name == "HEARTBEAT" or (name == "CUSTOM" and POSTED_SUBCLASSES[subclass])) then
  return
end

-- A refresh the edge already recorded while answering the directory request: its answer set
-- the user variable edge_binding=refreshed, which comes back in this event. Skip it, so a
-- refresh costs one edge request. Only sofia::register is skipped: an unregister carries the
-- same variable and must always reach the edge.
if subclass == "sofia::register" and event:getHeader("edge_binding") == "refreshed" then
  return
end

local edge_url = freeswitch.getGlobalVariable("edge_url")
local credential = freeswitch.getGlobalVariable("edge_switch_credential")
if not edge_url or edge_url == "" or not credential or credential == "" then
  warn_once("edge_url or edge_switch_credential is not set (vars-edge.xml); events are not posted")
  return
end
-- mod_curl splits its arguments on spaces: a space in either value would break the command.
if edge_url:find("%s") or not credential:find("^[A-Za-z0-9._-]+$") then
  warn_once("edge_url or edge_switch_credential has a space or an unexpected character; events are not posted")
  return
end
edge_url = edge_url:gsub("/+$", "")

-- mod_curl URL-decodes the post data once before sending it, so the form value is encoded
-- twice: the edge's form parser then gets the exact JSON back.
local body = "event=" .. percent_encode(percent_encode(event:serialize("json")))

-- mod_curl's curl API takes at most 10 arguments (the URL included); this uses all 10.
-- "secure" makes it verify the edge's TLS certificate (it does not by default).
local command = table.concat({
  "curl", edge_url .. "/freeswitch/v1/events",
  "append_headers", "X-Edge-Token:" .. credential,
  "content-type", "application/x-www-form-urlencoded",
  "timeout", "2",
  "secure",
  "post", body,
}, " ")

freeswitch.consoleLog("DEBUG", LOG_PREFIX .. "posting " .. (subclass or name) .. "\n")
freeswitch.API():execute("bgapi", command)
