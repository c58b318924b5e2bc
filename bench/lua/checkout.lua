-- wrk script: each request checks out a cart of its own, with an Idempotency-Key of its own.
-- Arguments: <file of "token<TAB>cart_id" lines> <threads>. Thread k takes lines k, k+T, ...
-- When a thread runs out of carts it asks for /health/live, and counts that in `spare`.
local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local carts = {}
local i = 0
spare = 0
local body = '{"cart_id":"%s","payment_token":"tok_visa","shipping_address":{"name":"Bench Buyer",'
  .. '"line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}'

function init(args)
  local nthreads = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == tid - 1 then
      table.insert(carts, line)
    end
    n = n + 1
  end
end

function request()
  i = i + 1
  local line = carts[i]
  if line == nil then
    spare = spare + 1
    return wrk.format("GET", "/health/live")
  end
  local token, cart = line:match("([^\t]+)\t([^\t]+)")
  return wrk.format("POST", "/v1/checkout", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = cart,
  }, string.format(body, cart))
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("spare") or 0)
  end
  io.write(string.format("spare requests: %d\n", total))
end
