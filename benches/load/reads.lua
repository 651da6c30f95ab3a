-- Read mix for benches/load.sh (one Lua state per wrk thread).
local data = dofile(os.getenv("LOAD_DATA"))
local counter = 0

local function pick(list)
  return list[math.random(#list)]
end

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed or 1)
end

function request()
  local r = math.random(100)
  local path
  if r <= 30 then
    path = "/api/photos?limit=20&offset=" .. math.random(0, 180)
  elseif r <= 50 then
    if r % 2 == 0 then
      path = "/api/photos?q=" .. pick(data.words) .. "&limit=20"
    else
      path = "/api/photos?tag=" .. pick(data.tags) .. "&sort=-rating&limit=20"
    end
  elseif r <= 70 then
    path = "/api/photos/" .. pick(data.ids)
  elseif r <= 90 then
    path = "/i/" .. pick(data.slugs)
  else
    path = "/api/photos/" .. pick(data.ids) .. "/comments"
  end
  return wrk.format("GET", path)
end
