-- Argo CD health of a modelchain.io object (ModelVersion, ModelDeployment, ModelTrustPolicy),
-- read from the conditions the operator writes: Ready, and kstatus' Reconciling and Stalled,
-- present only while True. Install it in argocd-cm as
-- resource.customizations.health.modelchain.io_<Kind> (README: "Conditions and health").
local hs = { status = "Progressing", message = "waiting for the modelchain operator" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  hs.message = string.format("generation %d not yet observed", obj.metadata.generation)
  return hs
end
local found = {}
for _, c in ipairs(obj.status.conditions) do
  found[c.type] = c
end
local function said(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end
local ready = found["Ready"]
if found["Stalled"] ~= nil and found["Stalled"].status == "True" then
  hs.status = "Degraded"
  hs.message = said(found["Stalled"])
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = said(ready)
elseif found["Reconciling"] ~= nil and found["Reconciling"].status == "True" then
  hs.message = said(found["Reconciling"])
elseif ready ~= nil and ready.reason == "ScaledToZero" then
  hs.status = "Suspended"
  hs.message = said(ready)
elseif ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = said(ready)
end
return hs
