-- Drives a headless Neovim for tests/test_editor_neovim.py: after the documented setup
-- (loaded first with -u), wait for dockopt's diagnostics, apply source.fixAll.dockopt,
-- write the buffer, and record what happened as JSON in $DOCKOPT_NVIM_OUT.
local out_path = os.getenv("DOCKOPT_NVIM_OUT")
local report = { diagnostics = {}, actions = {}, errors = {} }

local function finish()
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(report))
  f:close()
  vim.cmd("qall!")
end

local ok, err = pcall(function()
  local got = vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)
  if not got then
    table.insert(report.errors, "no diagnostics within 20 s")
    return
  end
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(report.diagnostics, { code = d.code, lnum = d.lnum, col = d.col,
                                       severity = d.severity, message = d.message })
  end
  local client = vim.lsp.get_active_clients({ bufnr = 0 })[1]
  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = {}, only = { "source.fixAll.dockopt" } }
  local res = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 10000)
  for _, r in pairs(res or {}) do
    for _, action in ipairs(r.result or {}) do
      table.insert(report.actions, action.title)
      if action.edit == nil then
        local resolved = client.request_sync("codeAction/resolve", action, 10000, 0)
        action = resolved and resolved.result or action
      end
      if action.edit then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      end
    end
  end
  vim.cmd("write")
end)
if not ok then table.insert(report.errors, tostring(err)) end
finish()
