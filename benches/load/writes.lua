-- Write mix for benches/load.sh: comment, rate (each pair once), upload, transform.
local data = dofile(os.getenv("LOAD_DATA"))
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

local upload_body, rated, made, nthreads

function init(args)
  math.randomseed(index or 1)
  local f = assert(io.open(data.upload_file, "rb"))
  upload_body = f:read("*a")
  f:close()
  rated = 0
  made = 0
  nthreads = 2
end

local function pick(list)
  return list[math.random(#list)]
end

local function bearer(token)
  return { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
end

local function comment()
  local body = '{"text":"load comment ' .. math.random(1000000) .. '"}'
  return wrk.format("POST", "/api/photos/" .. pick(data.ids) .. "/comments",
    bearer(pick(data.tokens)), body)
end

function request()
  local r = math.random(100)
  if r <= 40 then
    return comment()
  elseif r <= 60 then
    -- Thread k takes pairs k, k + n, k + 2n ...: no pair is rated twice.
    local i = index + rated * nthreads
    local pair = data.pairs[i]
    if pair == nil then
      return comment()
    end
    rated = rated + 1
    return wrk.format("POST", "/api/photos/" .. data.ids[pair[2]] .. "/ratings",
      bearer(data.tokens[pair[1]]), '{"stars":' .. math.random(5) .. '}')
  elseif r <= 80 then
    local headers = { ["Content-Type"] = data.upload_type,
      ["Authorization"] = "Bearer " .. pick(data.tokens) }
    return wrk.format("POST", "/api/photos", headers, upload_body)
  else
    -- The owner of photo i is user (i - 1) % 20 + 1.
    local i = math.random(#data.ids)
    made = made + 1
    local t = "c_fill,w_" .. (100 + (made * 7 + index) % 400) .. ",h_200"
    return wrk.format("POST", "/api/photos/" .. data.ids[i] .. "/transformations",
      bearer(data.tokens[(i - 1) % 20 + 1]), '{"transformation":"' .. t .. '"}')
  end
end
