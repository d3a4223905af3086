/**
 * The explorer's one page: HTML, CSS and plain JS inline (no build step, nothing fetched but
 * this origin's JSON), charts as inline SVG, each followed by a table of the same figures.
 * `nonce` admits the inline style and script under the handler's Content-Security-Policy.
 */
export function explorerPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RMA explorer</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${style}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <h1>RMA explorer</h1>
  <p id="chain" class="muted">Reading the chain…</p>
  <form id="asset-form" hidden>
    <label for="asset-select">Asset</label>
    <select id="asset-select"></select>
  </form>
</header>
<main id="main" tabindex="-1">
  <p id="status-line" role="status" aria-live="polite">Loading…</p>
  <div id="asset" hidden>
    <section aria-labelledby="h-config">
      <h2 id="h-config">Asset</h2>
      <dl id="config" class="grid"></dl>
    </section>
    <section aria-labelledby="h-revenue">
      <h2 id="h-revenue">Revenue per epoch</h2>
      <div id="revenue"></div>
    </section>
    <section aria-labelledby="h-split">
      <h2 id="h-split">Split by role</h2>
      <div id="split"></div>
      <div id="roles"></div>
    </section>
    <section aria-labelledby="h-prepaid">
      <h2 id="h-prepaid">Prepaid balances</h2>
      <div id="prepaid"></div>
    </section>
    <section aria-labelledby="h-supporters">
      <h2 id="h-supporters">Supporters: stake and realised yield</h2>
      <div id="supporters"></div>
    </section>
    <section aria-labelledby="h-audit">
      <h2 id="h-audit">Audit of each epoch</h2>
      <p class="muted">Every payout re-derived from the chain and the batch files, by the same code as <code>rma audit</code>.</p>
      <div id="audit" aria-live="polite"><p>Checking every batch file…</p></div>
    </section>
    <section aria-labelledby="h-lookup">
      <h2 id="h-lookup">Look up an address</h2>
      <form id="lookup" novalidate>
        <label for="lookup-address">Address (user, supporter, issuer…)</label>
        <input id="lookup-address" name="address" autocomplete="off" spellcheck="false" placeholder="0x…" pattern="0x[0-9a-fA-F]{40}" required aria-describedby="lookup-help">
        <button type="submit">Look up</button>
        <p id="lookup-help" class="muted">A user sees its calls, spend, rebates and what it can claim (prepaid: its balance, debits and rebates credited); a supporter its stake and rewards.</p>
      </form>
      <div id="lookup-result" aria-live="polite"></div>
    </section>
  </div>
</main>
<footer><p class="muted">Amounts are base units of the payment token. Read from the chain and the batch files only.</p></footer>
<script nonce="${nonce}">${script}</script>
</body>
</html>
`
}

const style = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #555; --line: #d0d0d0; --bg: #fff;
  --issuer: #1f5fa8; --supporters: #2e7d32; --users: #a35200; --protocol: #6a3fa0; --bad: #b00020; --ok: #1b5e20; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 1rem 0 0; }
h2 { font-size: 1.15rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2rem; }
.muted { color: var(--muted); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .25rem .5rem; }
:focus-visible { outline: 3px solid #1f5fa8; outline-offset: 2px; }
.grid { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
.grid dt { font-weight: 600; }
.grid dd { margin: 0; overflow-wrap: anywhere; }
code, .mono { font-family: ui-monospace, monospace; font-size: .9em; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .75rem 0; min-width: 20rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .75rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.addr { text-align: left; }
figure { margin: .5rem 0; }
figure svg { max-width: 640px; display: block; }
figcaption { font-weight: 600; }
.fill-issuer { fill: var(--issuer); } .fill-supporters { fill: var(--supporters); }
.fill-users { fill: var(--users); } .fill-protocol { fill: var(--protocol); }
rect.prepaid { fill-opacity: .55; stroke: #222; stroke-dasharray: 3 2; }
.bg-issuer { background: var(--issuer); } .bg-supporters { background: var(--supporters); }
.bg-users { background: var(--users); } .bg-protocol { background: var(--protocol); }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
.legend { display: flex; gap: 1rem; flex-wrap: wrap; padding: 0; list-style: none; margin: .25rem 0; }
.swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px; margin-right: .3rem; }
.status-ok { color: var(--ok); font-weight: 600; }
.status-discrepancy, .status-unavailable { color: var(--bad); font-weight: 600; }
#lookup input { width: min(100%, 30rem); font: inherit; padding: .3rem; }
#lookup button { font: inherit; padding: .3rem .8rem; }
.error { color: var(--bad); }
#discrepancies li, #lookup-result, td.addr { overflow-wrap: anywhere; }
`

/** Plain ES2020, no template literals (it sits in one). Builds every node with textContent: no figure is ever parsed as HTML. */
const script = String.raw`
'use strict';
(function () {
  var base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  var roles = ['issuer', 'supporters', 'users', 'protocol'];
  var SVGNS = 'http://www.w3.org/2000/svg';

  function fmt(v) { return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function pct(bps) { return (bps / 100).toFixed(2) + '%'; }
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') el.textContent = attrs[k];
      else if (attrs[k] !== undefined && attrs[k] !== null) el.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return el;
  }
  function s(tag, attrs, children) {
    var el = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) el.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { el.appendChild(c); });
    return el;
  }
  function stitle(text) { var t = document.createElementNS(SVGNS, 'title'); t.textContent = text; return t; }
  function api(path) {
    return fetch(base + 'api/' + path, { headers: { accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body && body.error ? body.error.message : 'HTTP ' + r.status);
        return body;
      });
    });
  }
  function amountCell(v) { return h('td', { 'data-value': String(v), text: fmt(v) }); }
  function table(id, caption, head, rows) {
    return h('table', { id: id }, [
      h('caption', { text: caption }),
      h('thead', {}, [h('tr', {}, head.map(function (c) { return h('th', { scope: 'col', text: c }); }))]),
      h('tbody', {}, rows)
    ]);
  }

  /** Bars per epoch; several series stack. The table after it holds the same figures. */
  function barChart(id, label, epochs, series, kinds) {
    var width = 640, height = 220, left = 84, bottom = 28, top = 10;
    var totals = epochs.map(function (_, i) {
      return series.reduce(function (sum, se) { return sum + Number(se.values[i]); }, 0);
    });
    var max = Math.max.apply(null, totals.concat([1]));
    var slot = (width - left - 8) / Math.max(epochs.length, 1);
    var barW = Math.max(4, Math.min(48, slot * 0.6));
    var plotH = height - bottom - top;
    var svg = s('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img', 'aria-labelledby': id + '-title', id: id });
    svg.appendChild(stitle(label));
    svg.firstChild.setAttribute('id', id + '-title');
    svg.appendChild(s('line', { x1: left, y1: top + plotH, x2: width - 4, y2: top + plotH, stroke: '#888' }));
    var axis = s('text', { x: left - 6, y: top + 10, 'text-anchor': 'end' }); axis.textContent = fmt(max); svg.appendChild(axis);
    var zero = s('text', { x: left - 6, y: top + plotH, 'text-anchor': 'end' }); zero.textContent = '0'; svg.appendChild(zero);
    epochs.forEach(function (epoch, i) {
      var x = left + slot * i + (slot - barW) / 2;
      var y = top + plotH;
      series.forEach(function (se) {
        var v = Number(se.values[i]);
        var bh = (v / max) * plotH;
        y -= bh;
        var kind = kinds ? kinds[i] : null;
        var attrs = { x: x, y: y, width: barW, height: Math.max(bh, 0), class: 'fill-' + se.color, 'data-epoch': String(epoch), 'data-series': se.name, 'data-value': String(se.values[i]) };
        if (kind) { attrs['data-kind'] = kind; if (kind === 'prepaid') attrs['class'] += ' prepaid'; }
        svg.appendChild(s('rect', attrs,
          [stitle('Epoch ' + epoch + (kind ? ' (' + kind + ')' : '') + ', ' + se.name + ': ' + fmt(se.values[i]))]));
      });
      var t = s('text', { x: x + barW / 2, y: height - 8, 'text-anchor': 'middle' }); t.textContent = String(epoch); svg.appendChild(t);
    });
    var fig = h('figure', {}, [h('figcaption', { 'aria-hidden': 'true', text: label }), svg]);
    if (kinds && kinds.indexOf('prepaid') >= 0)
      fig.appendChild(h('p', { class: 'muted', text: 'Lighter, dashed bars: prepaid epochs (debited from the users\u2019 prepaid balances); solid: postpaid (paid in by the settler).' }));
    if (series.length > 1)
      fig.appendChild(h('ul', { class: 'legend', 'aria-hidden': 'true' }, series.map(function (se) {
        return h('li', {}, [h('span', { class: 'swatch bg-' + se.color }), se.name]);
      })));
    return fig;
  }

  function renderStatus(st) {
    var a = st.asset;
    var dl = document.getElementById('config');
    dl.replaceChildren();
    [['Asset id', st.assetId], ['Contract', st.contract + ' on chain ' + st.chainId], ['Issuer', a.issuer], ['Settler', a.settler],
     ['Payment token', a.token], ['Meters', a.meters.join(', ') || 'none'],
     ['Shares', 'issuer ' + pct(a.shares.issuerBps) + ', supporters ' + pct(a.shares.supportersBps) + ', users ' + pct(a.shares.usersBps) + ', protocol ' + pct(a.shares.protocolBps)],
     ['Unbonding delay', (a.unbondingDelay / 86400).toFixed(2).replace(/\.00$/, '') + ' days'],
     ['Epochs settled', String(a.epoch)], ['Revenue', fmt(st.totals.revenue) + ' in ' + fmt(st.totals.receiptCount) + ' receipts'],
     ['Challenge window', a.challengeWindow ? (a.challengeWindow / 3600).toFixed(2).replace(/\.00$/, '') + ' hours' : 'none (credited at settlement)'],
     ['Pending (in its challenge window, not paid yet)', fmt(st.totals.pendingRevenue)],
     ['Settlers\' deposits', fmt(st.deposits)], ['Read at block', String(st.block)]].forEach(function (row) {
      dl.appendChild(h('dt', { text: row[0] })); dl.appendChild(h('dd', { class: /^0x/.test(row[1]) ? 'mono' : null, text: row[1] }));
    });

    var epochs = st.epochs.map(function (e) { return e.epoch; });
    var kinds = st.epochs.map(function (e) { return e.kind; });
    var rev = document.getElementById('revenue');
    rev.replaceChildren(
      barChart('revenue-chart', 'Revenue per epoch, base units', epochs, [{ name: 'revenue', values: st.epochs.map(function (e) { return e.revenue; }), color: 'issuer' }], kinds),
      table('revenue-table', 'Revenue per epoch', ['Epoch', 'Kind', 'Revenue', 'Receipts', 'Batch file or vouchers'], st.epochs.map(function (e) {
        var link = e.kind === 'prepaid'
          ? h('span', { text: e.vouchers.settled + ' of ' + e.vouchers.submitted + ' voucher(s) applied' })
          : /^https?:\/\//i.test(e.batchUri) ? h('a', { href: e.batchUri, rel: 'noopener noreferrer', text: e.batchHash.slice(0, 10) + '…' }) : h('span', { class: 'mono', text: e.batchUri });
        var receipts = e.receiptCount === null ? h('td', { 'data-value': '', text: 'unknown' }) : h('td', { 'data-value': String(e.receiptCount), text: fmt(e.receiptCount) });
        return h('tr', {}, [h('td', { text: String(e.epoch) }), h('td', { 'data-value': e.kind, text: e.kind }), amountCell(e.revenue), receipts, h('td', { class: 'addr' }, [link])]);
      })));
    // Batches in their challenge window (or vetoed) are settled but not paid: say so apart.
    var unpaid = st.epochs.filter(function (e) { return e.state !== 'released'; });
    if (unpaid.length) rev.appendChild(h('ul', { id: 'pending-epochs' }, unpaid.map(function (e) {
      var when = e.state === 'pending' ? 'pending: credited and claimable from ' + new Date(e.releasableAt * 1000).toISOString().replace('.000Z', 'Z') : 'vetoed by a fraud proof: never paid, revenue returned to the settler';
      return h('li', { 'data-epoch': String(e.epoch), 'data-state': e.state, text: 'Epoch ' + e.epoch + ' (' + fmt(e.revenue) + '): ' + when });
    })));

    var split = document.getElementById('split');
    split.replaceChildren(
      barChart('split-chart', 'Split of each epoch by role, base units', epochs, roles.map(function (r) {
        return { name: r, values: st.epochs.map(function (e) { return e.split[r]; }), color: r };
      }), kinds),
      table('split-table', 'Split by role per epoch', ['Epoch', 'Kind', 'Issuer', 'Supporters', 'Users', 'Protocol'], st.epochs.map(function (e) {
        return h('tr', {}, [h('td', { text: String(e.epoch) }), h('td', { 'data-value': e.kind, text: e.kind })].concat(roles.map(function (r) { return amountCell(e.split[r]); })));
      })));
    document.getElementById('roles').replaceChildren(
      table('roles-table', 'Each role: funded, claimed, owed', ['Role', 'Funded', 'Claimed', 'Owed'], roles.map(function (r) {
        var x = st.roles[r];
        return h('tr', {}, [h('th', { scope: 'row', text: r }), amountCell(x.funded), amountCell(x.claimed), amountCell(x.owed)]);
      })));

    var pp = st.prepaid;
    document.getElementById('prepaid').replaceChildren.apply(document.getElementById('prepaid'), [
      h('p', { id: 'prepaid-summary', text: 'All prepaid balances of the payment token: ' + fmt(pp.total) + '. This asset debited ' + fmt(pp.debited) + ' and credited ' + fmt(pp.rebateCredited) + ' of rebates straight back.' }),
      pp.users.length === 0 ? h('p', { text: 'No prepaid voucher of this asset has settled yet.' }) :
      table('prepaid-table', 'Prepaid users of this asset', ['Address', 'Balance', 'Debited', 'Rebates credited', 'Vouchers', 'Withdrawal requested'], pp.users.map(function (x) {
        return h('tr', {}, [h('td', { class: 'addr mono', text: x.address }), amountCell(x.balance), amountCell(x.debited), amountCell(x.rebateCredited), h('td', { text: String(x.vouchers) }), amountCell(x.withdrawalRequested)]);
      }))].filter(Boolean));

    var sup = document.getElementById('supporters');
    var list = st.stake.supporters;
    sup.replaceChildren.apply(sup, [
      h('p', { id: 'stake-summary', text: 'Active ' + fmt(st.stake.active) + ', pending ' + fmt(st.stake.pending) + ', unbonding ' + fmt(st.stake.unbonding) + ', share held for later ' + fmt(st.stake.held) + '.' }),
      list.length === 0 ? h('p', { text: 'No supporter has staked yet.' }) : barChart('stake-chart', 'Stake per supporter (active, pending, unbonding), base units', list.map(function (_, i) { return i + 1; }), [
        { name: 'active', values: list.map(function (x) { return x.active; }), color: 'supporters' },
        { name: 'pending', values: list.map(function (x) { return x.pending; }), color: 'issuer' },
        { name: 'unbonding', values: list.map(function (x) { return x.unbonding; }), color: 'protocol' }
      ]),
      list.length === 0 ? null : barChart('yield-chart', 'Realised yield per supporter: rewards earned per unit staked, basis points', list.map(function (_, i) { return i + 1; }), [
        { name: 'yield (bps)', values: list.map(function (x) { return x.yieldBps; }), color: 'users' }
      ]),
      table('supporters-table', 'Supporters (numbered as in the chart)', ['#', 'Address', 'Active', 'Pending', 'Unbonding', 'Staked', 'Earned', 'Claimed', 'Claimable', 'Realised yield'], list.map(function (x, i) {
        return h('tr', {}, [h('td', { text: String(i + 1) }), h('td', { class: 'addr mono', text: x.address }), amountCell(x.active), amountCell(x.pending), amountCell(x.unbonding), amountCell(x.staked),
          amountCell(x.rewardsEarned), amountCell(x.rewardsClaimed), amountCell(x.rewardsClaimable), h('td', { 'data-value': String(x.yieldBps), text: pct(x.yieldBps) })]);
      }))].filter(Boolean));
  }

  function renderAudit(report) {
    var out = document.getElementById('audit');
    var rows = report.epochs.map(function (e) {
      var n = report.discrepancies.filter(function (d) { return d.epoch === e.epoch; }).length;
      return h('tr', {}, [h('td', { text: String(e.epoch) }), h('td', { class: 'status-' + e.status, 'data-value': e.status, text: e.status }), h('td', { text: String(n) })]);
    });
    out.replaceChildren(
      h('p', { id: 'audit-summary', class: report.ok ? 'status-ok' : 'status-discrepancy', text: report.ok ? 'Every epoch checks out: nothing differs.' : report.discrepancies.length + (report.discrepancies.length === 1 ? ' discrepancy found.' : ' discrepancies found.') }),
      table('audit-table', 'Audit status per epoch', ['Epoch', 'Status', 'Findings'], rows));
    if (report.discrepancies.length)
      out.appendChild(h('ul', { id: 'discrepancies' }, report.discrepancies.map(function (d) {
        return h('li', {}, [h('strong', { text: d.kind }), ' ' + (d.epoch ? '(epoch ' + d.epoch + ') ' : '') + d.detail]);
      })));
  }

  function renderAccount(v) {
    var out = document.getElementById('lookup-result');
    var parts = [h('h3', { text: v.address }), h('p', { id: 'account-roles', text: v.roles.length ? 'Roles: ' + v.roles.join(', ') : 'This address has no calls, stake or role in this asset.' })];
    var u = v.user;
    if (u.epochs.length) {
      var dl = h('dl', { class: 'grid', id: 'account-user' });
      [['calls', 'Calls', String(u.calls)], ['spend', 'Spend', u.spend], ['rebates', 'Rebates', u.rebates], ['claimed', 'Claimed', u.claimed], ['claimable', 'Claimable now', u.claimable]].forEach(function (r) {
        dl.appendChild(h('dt', { text: r[1] })); dl.appendChild(h('dd', { 'data-field': r[0], 'data-value': r[2], text: fmt(r[2]) }));
      });
      parts.push(dl, table('account-epochs', 'Per epoch', ['Epoch', 'Kind', 'Calls', 'Spend', 'Rebate', 'Claimed'], u.epochs.map(function (e) {
        return h('tr', {}, [h('td', { text: String(e.epoch) }), h('td', { 'data-value': e.kind, text: e.kind }), h('td', { text: String(e.calls) }), amountCell(e.spend), amountCell(e.rebate), h('td', { text: e.kind === 'prepaid' ? 'credited' : e.claimed ? 'yes' : 'no' })]);
      })));
    }
    if (v.prepaid) {
      var p = v.prepaid;
      var pd = h('dl', { class: 'grid', id: 'account-prepaid' });
      [['balance', 'Prepaid balance', p.balance], ['debited', 'Debited by this asset', p.debited], ['rebateCredited', 'Rebates credited', p.rebateCredited], ['withdrawalRequested', 'Withdrawal requested', p.withdrawalRequested]].forEach(function (r) {
        pd.appendChild(h('dt', { text: r[1] })); pd.appendChild(h('dd', { 'data-field': r[0], 'data-value': r[2], text: fmt(r[2]) }));
      });
      if (p.withdrawableAt) { pd.appendChild(h('dt', { text: 'Withdrawable from' })); pd.appendChild(h('dd', { 'data-field': 'withdrawableAt', 'data-value': String(p.withdrawableAt), text: new Date(p.withdrawableAt * 1000).toISOString() })); }
      parts.push(h('h4', { text: 'Prepaid balance' }), pd);
    }
    if (v.uncounted.length)
      parts.push(h('p', { id: 'account-uncounted', class: 'error', text: 'Not counted: epoch(s) ' + v.uncounted.join(', ') + ', whose batch file cannot be read or does not match the chain.' }));
    if (v.supporter) {
      var x = v.supporter;
      var sd = h('dl', { class: 'grid', id: 'account-supporter' });
      [['active', 'Active stake', x.active], ['pending', 'Pending stake', x.pending], ['unbonding', 'Unbonding', x.unbonding], ['rewardsEarned', 'Rewards earned', x.rewardsEarned], ['rewardsClaimed', 'Rewards claimed', x.rewardsClaimed], ['rewardsClaimable', 'Rewards claimable', x.rewardsClaimable]].forEach(function (r) {
        sd.appendChild(h('dt', { text: r[1] })); sd.appendChild(h('dd', { 'data-field': r[0], 'data-value': r[2], text: fmt(r[2]) }));
      });
      parts.push(h('h4', { text: 'As a supporter' }), sd);
    }
    out.replaceChildren.apply(out, parts);
  }

  var current = null;
  function show(assetId) {
    current = assetId;
    var line = document.getElementById('status-line');
    line.textContent = 'Loading asset ' + assetId + '…';
    document.getElementById('lookup-result').replaceChildren();
    document.getElementById('audit').replaceChildren(h('p', { text: 'Checking every batch file…' }));
    api('assets/' + assetId + '/status').then(function (st) {
      if (current !== assetId) return;
      renderStatus(st);
      document.getElementById('asset').hidden = false;
      line.textContent = 'Asset ' + assetId + ' at block ' + st.block + '.';
    }).catch(function (e) { line.textContent = e.message; line.className = 'error'; });
    api('assets/' + assetId + '/audit').then(function (r) { if (current === assetId) renderAudit(r); })
      .catch(function (e) { document.getElementById('audit').replaceChildren(h('p', { class: 'error', text: e.message })); });
  }

  document.getElementById('lookup').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var input = document.getElementById('lookup-address');
    var out = document.getElementById('lookup-result');
    var address = input.value.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
      input.setAttribute('aria-invalid', 'true');
      out.replaceChildren(h('p', { class: 'error', role: 'alert', text: 'Enter an address: 0x followed by 40 hex digits.' }));
      return;
    }
    input.removeAttribute('aria-invalid');
    out.replaceChildren(h('p', { text: 'Looking up ' + address + '…' }));
    api('assets/' + current + '/accounts/' + address).then(renderAccount)
      .catch(function (e) { out.replaceChildren(h('p', { class: 'error', role: 'alert', text: e.message })); });
  });

  api('assets').then(function (info) {
    document.getElementById('chain').textContent = 'Contract ' + info.contract + ' on chain ' + info.chainId + '.';
    if (!info.assets.length) { document.getElementById('status-line').textContent = 'No asset is registered on this contract yet.'; return; }
    var select = document.getElementById('asset-select');
    info.assets.forEach(function (a) { select.appendChild(h('option', { value: a, text: a })); });
    var wanted = new URLSearchParams(location.search).get('asset');
    var first = wanted && info.assets.indexOf(wanted.toLowerCase()) >= 0 ? wanted.toLowerCase() : info.assets[0];
    select.value = first;
    document.getElementById('asset-form').hidden = info.assets.length < 2;
    select.addEventListener('change', function () { show(select.value); });
    show(first);
  }).catch(function (e) { var l = document.getElementById('status-line'); l.textContent = e.message; l.className = 'error'; });
})();
`
