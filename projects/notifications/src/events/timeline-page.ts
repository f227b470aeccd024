/**
 * The timeline page of one event's fan-out: a row per delivery (channel, recipient, target), its
 * steps laid out left to right at their time since the event was accepted, coloured by status.
 * It reads the JSON log (`GET /v1/events/:id`) and refreshes every second until every delivery
 * is settled. Plain HTML, CSS and a script: nothing to build, nothing fetched from elsewhere.
 */
export function timelinePage(eventId: string): string {
  const id = JSON.stringify(eventId).replaceAll('<', '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Event fan-out</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2328; }
  h1 { font-size: 1.2rem; margin: 0 0 .25rem; }
  .meta { color: #59636e; margin-bottom: 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d1d9e0; vertical-align: top; }
  th { font-weight: 600; background: #f6f8fa; }
  .steps { display: flex; gap: .35rem; flex-wrap: wrap; }
  .step { border-radius: 1rem; padding: .05rem .55rem; font-size: 12px; white-space: nowrap; }
  .queued { background: #ddf4ff; color: #0550ae; }
  .sent { background: #dafbe1; color: #116329; }
  .failed { background: #ffebe9; color: #a40e26; }
  .suppressed { background: #fff8c5; color: #7d4e00; }
  .status { font-weight: 600; }
  .summary span { margin-right: 1rem; }
</style>
</head>
<body>
<h1>Event <code id="event-id"></code></h1>
<div class="meta" id="meta">Loading…</div>
<div class="summary" id="summary"></div>
<table>
  <thead><tr><th>Channel</th><th>Recipient</th><th>Target</th><th>Status</th><th>Attempts</th><th>Provider</th><th>Timeline</th></tr></thead>
  <tbody id="deliveries"></tbody>
</table>
<script>
const eventId = ${id};
document.getElementById('event-id').textContent = eventId;
function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}
async function refresh() {
  const res = await fetch('/v1/events/' + encodeURIComponent(eventId));
  if (!res.ok) { document.getElementById('meta').textContent = 'Not found'; return false; }
  const log = await res.json();
  const accepted = Date.parse(log.event.acceptedAt);
  document.getElementById('meta').textContent =
    log.event.type + ' · accepted ' + log.event.acceptedAt + ' · ' + log.event.recipients.length +
    ' recipient(s) · ' + log.event.channels.join(', ') + (log.event.critical ? ' · critical' : '');
  const summary = document.getElementById('summary');
  summary.replaceChildren(...Object.entries(log.summary).map(([status, n]) => {
    const span = document.createElement('span');
    span.className = 'status ' + status;
    span.dataset.status = status;
    span.textContent = status + ': ' + n;
    return span;
  }));
  const rows = log.deliveries.map((d) => {
    const tr = document.createElement('tr');
    tr.dataset.deliveryId = d.id;
    tr.dataset.channel = d.channel;
    tr.dataset.status = d.status;
    tr.append(cell(d.channel), cell(d.subscriberId), cell(d.target),
      cell(d.status + (d.reason ? ' (' + d.reason + ')' : ''), 'status ' + d.status),
      cell(String(d.attempts)), cell(d.provider || ''));
    const steps = document.createElement('td');
    const list = document.createElement('div');
    list.className = 'steps';
    for (const s of log.timeline.filter((s) => s.deliveryId === d.id)) {
      const step = document.createElement('span');
      step.className = 'step ' + s.status;
      step.title = [s.reason, s.provider, s.detail].filter(Boolean).join(' · ');
      step.textContent = '+' + (Date.parse(s.at) - accepted) + ' ms ' + s.status + (s.reason ? ' ' + s.reason : '');
      list.append(step);
    }
    steps.append(list);
    tr.append(steps);
    return tr;
  });
  document.getElementById('deliveries').replaceChildren(...rows);
  const settled = log.deliveries.length > 0 && log.deliveries.every((d) =>
    d.status === 'sent' || d.status === 'failed' ||
    (d.status === 'suppressed' && d.reason !== 'quiet_hours' && d.reason !== 'breaker_open'));
  document.body.dataset.settled = String(settled);
  return !settled;
}
(async function loop() {
  while (await refresh().catch(() => true)) await new Promise((r) => setTimeout(r, 1000));
})();
</script>
</body>
</html>
`
}
