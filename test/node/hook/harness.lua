-- harness.lua: run the FreeSWITCH mod_lua event hook outside FreeSWITCH, with stub globals.
--
-- Usage: lua harness.lua SCRIPT GLOBALS_FILE [EVENT_JSON HEADERS_FILE]...
--
-- GLOBALS_FILE and HEADERS_FILE hold one pair per line: "<hex name> <hex value>" (hex keeps any
-- byte intact without a parser). EVENT_JSON is the text `event:serialize("json")` returns, byte
-- for byte. Each event runs the script once with `dofile`, like mod_lua runs it once per event
-- in a fresh Lua state: globals the script leaves behind are removed between events, while the
-- FreeSWITCH global variables (getGlobalVariable/setGlobalVariable) persist across events, as
-- they do in a running switch.
--
-- Output, one record a line, every field hex-encoded:
--   run <index>                      before each event (1-based)
--   execute <hex api> <hex args>     freeswitch.API():execute(api, args)
--   log <hex level> <hex message>    freeswitch.consoleLog(level, message)
--   error <hex message>              the script raised an error
--   global <hex name> <hex value>    the FreeSWITCH global variables after the last event
--
-- With HOOK_ARGS set (hex of the argument string, e.g. "post event 123 event=..."), the script runs
-- once as `lua whistle_edge_events.lua ARGS` runs it (argv, no event) instead of the events, with an
-- empty spool: freeswitch.Dbh answers no rows, and each statement is written as an execute of the
-- API "sql". freeswitch.API():execute("curl", ...) answers HOOK_CURL_ANSWER (hex), and
-- execute("strepoch") the switch's clock in seconds, HOOK_EPOCH (1795560948 unless set).
--
-- HOOK_RACE (hex of "name=value"), when set, plays another thread of the switch: while the first
-- `sofia` command of the run executes, that thread sets the FreeSWITCH global variable, as a post
-- deciding the opposite at the same moment would.

local function to_hex(text)
  return (text:gsub(".", function(char) return string.format("%02x", string.byte(char)) end))
end

local function from_hex(hex)
  if #hex % 2 ~= 0 or hex:find("[^0-9a-fA-F]") then
    error("harness: not hex: " .. hex)
  end
  return (hex:gsub("..", function(pair) return string.char(tonumber(pair, 16)) end))
end

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("a")
  file:close()
  return text
end

-- Pairs file: a list of {name, value}, in file order.
local function read_pairs(path)
  local pairs_list = {}
  for line in read_file(path):gmatch("[^\n]+") do
    local name_hex, value_hex = line:match("^(%x*) (%x*)$")
    if not name_hex then error("harness: bad line in " .. path .. ": " .. line) end
    pairs_list[#pairs_list + 1] = { from_hex(name_hex), from_hex(value_hex) }
  end
  return pairs_list
end

local function emit(...)
  io.write(table.concat({ ... }, " "), "\n")
end

local script, globals_path = arg[1], arg[2]
local hook_args = os.getenv("HOOK_ARGS")
if not script or not globals_path or (#arg - 2) % 2 ~= 0 or (hook_args and #arg ~= 2) then
  io.stderr:write("usage: lua harness.lua SCRIPT GLOBALS_FILE [EVENT_JSON HEADERS_FILE]...\n")
  os.exit(2)
end

-- FreeSWITCH global variables: shared by every event of this run.
local global_vars = {}
for _, pair in ipairs(read_pairs(globals_path)) do
  global_vars[pair[1]] = pair[2]
end

local race = nil
if os.getenv("HOOK_RACE") then
  local name, value = from_hex(os.getenv("HOOK_RACE")):match("^([^=]+)=(.*)$")
  race = { name, value }
end

local function new_freeswitch()
  local api = {}
  function api.execute(self, command, args)
    assert(self == api, "API:execute must be called with ':'")
    emit("execute", to_hex(tostring(command)), to_hex(tostring(args or "")))
    if command == "sofia" and race then
      global_vars[race[1]] = race[2]
      race = nil
    end
    if command == "curl" then return from_hex(os.getenv("HOOK_CURL_ANSWER") or "") end
    if command == "strepoch" then return os.getenv("HOOK_EPOCH") or "1795560948" end
    if command == "create_uuid" then return "00000000-0000-0000-0000-000000000001" end
    return "+OK Job-UUID: 00000000-0000-0000-0000-000000000000\n"
  end
  local Dbh = function(dsn)
    local dbh = {}
    function dbh.connected(self) return true end
    function dbh.query(self, sql, callback)
      emit("execute", to_hex("sql"), to_hex(sql))
      return true
    end
    function dbh.release(self) end
    return dbh
  end
  return {
    getGlobalVariable = function(name) return global_vars[name] end,
    setGlobalVariable = function(name, value) global_vars[name] = value end,
    consoleLog = function(level, message)
      emit("log", to_hex(tostring(level)), to_hex(tostring(message)))
    end,
    API = function() return api end,
    Dbh = Dbh,
    msleep = function() end,
  }
end

local function new_event(json_text, headers)
  local event = {}
  function event.getHeader(self, name)
    assert(self == event, "event:getHeader must be called with ':'")
    -- FreeSWITCH looks headers up without regard to case.
    local wanted = name:lower()
    for _, pair in ipairs(headers) do
      if pair[1]:lower() == wanted then return pair[2] end
    end
    return nil
  end
  function event.serialize(self, format)
    assert(self == event, "event:serialize must be called with ':'")
    if format ~= "json" then error("harness: serialize format not stubbed: " .. tostring(format)) end
    return json_text
  end
  return event
end

-- The globals before any script ran: everything else is the script's and goes between events.
local baseline = {}
for name in pairs(_G) do baseline[name] = true end

local index = 0
if hook_args then
  emit("run", "1")
  freeswitch = new_freeswitch()
  argv = { [0] = "whistle_edge_events.lua" }
  for word in from_hex(hook_args):gmatch("[^ ]+") do argv[#argv + 1] = word end
  local ok, err = pcall(dofile, script)
  if not ok then emit("error", to_hex(tostring(err))) end
end
for i = 3, #arg, 2 do
  index = index + 1
  emit("run", tostring(index))
  freeswitch = new_freeswitch()
  event = new_event(read_file(arg[i]), read_pairs(arg[i + 1]))
  local ok, err = pcall(dofile, script)
  if not ok then emit("error", to_hex(tostring(err))) end
  for name in pairs(_G) do
    if not baseline[name] then _G[name] = nil end
  end
end

local names = {}
for name in pairs(global_vars) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  emit("global", to_hex(name), to_hex(global_vars[name]))
end
