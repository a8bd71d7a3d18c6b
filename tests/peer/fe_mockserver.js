#!/usr/bin/env node
// Starts @sap-ux/fe-mockserver-core on loopback for fincon's peer tests (see docs/testing-peers.md).
//
//   node fe_mockserver.js --port 0 \
//       --service /sap/opu/odata/sap/API_BUSINESS_PARTNER=/path/API_BUSINESS_PARTNER.edmx \
//       [--service URLPATH=EDMX ...] [--mockdata URLPATH=DIR ...] \
//       [--page-size N] [--csrf] [--debug-endpoints] [--no-leak-fix] [--diagnostics-cap N] [--verbose]
//
// When listening it prints exactly one JSON line on stdout: {"event":"ready","port":...}.
// Entity sets without a <EntitySet>.json file in their --mockdata folder get 150 generated rows.
//
// What the wrapper adds to fe-mockserver (each one because a real SAP/Dynamics backend does it and
// fe-mockserver does not):
//   * the $filter memory-leak fix (on unless --no-leak-fix), see boundDiagnostics();
//   * --page-size N: server-driven paging, `d.__next` (OData V2) / `@odata.nextLink` (V4) with a
//     `$skiptoken`, and `Prefer: odata.maxpagesize` on V4 services;
//   * --csrf: SAP Gateway style CSRF protection bound to a session cookie;
//   * --debug-endpoints: GET /__debug/diagnostics-length for the leak regression test.
//
// Loaded with `node --require fe_mockserver.js other.js` (harness.py does this for Prism) it only
// installs exitWithParent(), so no peer server outlives a test runner that was killed outright.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');

// The test runner is our parent. If it dies without stopping us (SIGKILL, a CI timeout) we get
// re-parented; polling ppid is the portable way to notice, and 500 ms keeps the cost negligible.
function exitWithParent(onOrphaned) {
    const parent = process.ppid;
    setInterval(() => { if (process.ppid !== parent) onOrphaned(); }, 500).unref();
}

function usage(message) {
    process.stderr.write(`fe_mockserver.js: ${message}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const opts = {
        host: '127.0.0.1',
        port: 0,
        services: [],
        mockdata: new Map(),
        pageSize: 0,
        csrf: false,
        debugEndpoints: false,
        leakFix: true,
        diagnosticsCap: 100,
        verbose: false,
    };
    const intArg = (name, value) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) usage(`${name} needs a non-negative integer, got ${value}`);
        return n;
    };
    const pairArg = (name, value) => {
        const eq = (value || '').indexOf('=');
        if (eq <= 0) usage(`${name} needs URLPATH=FILE, got ${value}`);
        return [value.slice(0, eq).replace(/\/+$/, ''), path.resolve(value.slice(eq + 1))];
    };
    for (let i = 2; i < argv.length; i++) {
        const arg = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) usage(`${arg} needs a value`);
            return argv[++i];
        };
        switch (arg) {
            case '--host': opts.host = next(); break;
            case '--port': opts.port = intArg(arg, next()); break;
            case '--service': opts.services.push(pairArg(arg, next())); break;
            case '--mockdata': { const [p, dir] = pairArg(arg, next()); opts.mockdata.set(p, dir); break; }
            case '--page-size': opts.pageSize = intArg(arg, next()); break;
            case '--csrf': opts.csrf = true; break;
            case '--debug-endpoints': opts.debugEndpoints = true; break;
            case '--no-leak-fix': opts.leakFix = false; break;
            case '--diagnostics-cap': opts.diagnosticsCap = intArg(arg, next()); break;
            case '--verbose': opts.verbose = true; break;
            default: usage(`unknown argument ${arg}`);
        }
    }
    if (opts.services.length === 0) usage('at least one --service URLPATH=EDMX is required');
    for (const [urlPath] of opts.services) {
        if (!urlPath.startsWith('/')) usage(`service path must start with "/": ${urlPath}`);
    }
    return opts;
}

// ---------------------------------------------------------------------------------------------------
// The leak. @sap-ux/annotation-converter (dist/converter.js) gives every converted metadata object a
// `diagnostics: []` array, and Converter.logError() pushes `{message}` onto it, forever. fe-mockserver
// evaluates $filter row by row in MockDataEntitySet.checkFilter(), which calls getProperty() for both
// operands; for a literal such as 'X' getProperty() asks metadata.resolvePath('/<EntitySet>/'X''),
// resolution fails, resolveTarget() calls logError() (several ~250-byte messages), and because the
// failed lookup caches `undefined` it is retried for the next row. So one `$filter=Supplier eq 'X'`
// over 150 rows adds ~450 entries that nothing ever reads or clears: the heap grows with every
// $filter request. Nothing in fe-mockserver reads `diagnostics`, so the wrapper replaces `push` on
// that array with one that keeps the first `cap` messages (still useful to debug bad metadata) and
// only counts the rest. We patch the array instance rather than the Converter class because the class
// is not exported; the check runs on every request so that a metadata reload is covered too.
// (getProperty()'s cache still gains one `undefined` entry per distinct literal: bytes, not kilobytes
// per row, and bounded by the distinct values a test sends, so it is left alone.)
const BOUNDED = Symbol('fincon.boundedDiagnostics');

function boundDiagnostics(convertedMetadata, cap) {
    const diagnostics = convertedMetadata && convertedMetadata.diagnostics;
    if (!Array.isArray(diagnostics) || diagnostics[BOUNDED]) return;
    const state = { dropped: 0 };
    Object.defineProperty(diagnostics, 'push', {
        configurable: true,
        value(...items) {
            for (const item of items) {
                if (this.length < cap) Array.prototype.push.call(this, item);
                else state.dropped += 1;
            }
            return this.length;
        },
    });
    Object.defineProperty(diagnostics, BOUNDED, { value: state });
}

// ---------------------------------------------------------------------------------------------------
// Server-driven paging. fe-mockserver returns every matching row unless the client sends $top, so a
// connector's "follow __next / @odata.nextLink" loop is never exercised. ODataRequest stores $skip and
// $top as startIndex/maxElements and DataAccess.getData() slices with them, so we narrow that window
// before the request runs and add the next link to the serialised response afterwards. $skiptoken is
// our opaque cursor: the number of rows already delivered for this query. Patching ODataRequest (and
// not the HTTP response) also pages the GETs inside $batch.
const NEXT_LINK = Symbol('fincon.nextLink');
const SERVICE_ROOT = new WeakMap(); // request headers object -> absolute service root URL

function maxPageSizePreference(headers) {
    const prefer = (headers && headers.prefer) || '';
    const match = /(?:^|[\s,;])odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer);
    return match ? Number(match[1]) : 0;
}

function encodeQuery(params) {
    // Keep `$` in names readable and encode values the way OData clients do (no `+` for spaces).
    return [...params].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

function installPaging(ODataRequest, defaultPageSize) {
    const originalHandle = ODataRequest.prototype.handleRequest;
    const originalGetResponseData = ODataRequest.prototype.getResponseData;

    ODataRequest.prototype.handleRequest = async function handleRequestWithPaging() {
        if (this.method !== 'GET' || this.isCountQuery) return originalHandle.call(this);
        const isV4 = this.dataAccess.isV4();
        const preferred = isV4 ? maxPageSizePreference(this.headers) : 0;
        const pageSize = preferred > 0 ? Math.min(preferred, defaultPageSize) : defaultPageSize;
        const rawToken = this.allParams.get('$skiptoken');
        if (rawToken !== null && !/^\d+$/.test(rawToken)) {
            // Mirrors the gateway answer to a tampered cursor; the client must not get page 1 again.
            this.statusCode = 400;
            this.addResponseHeader('content-type', 'text/plain');
            this.setResponseData(`Invalid $skiptoken '${rawToken}'`);
            return undefined;
        }
        const delivered = rawToken === null ? 0 : Number(rawToken);
        const skip = this.startIndex;
        const top = this.maxElements; // Infinity when the client sent no $top
        const limit = Math.min(pageSize, top - delivered);
        // getData() treats maxElements 0 as "no $top", so an exhausted window is expressed as an empty slice.
        this.startIndex = limit > 0 ? skip + delivered : Number.MAX_SAFE_INTEGER;
        this.maxElements = limit > 0 ? limit : 1;
        await originalHandle.call(this);
        if (!Array.isArray(this.responseData) || this.statusCode >= 300) return undefined;
        const returned = this.responseData.length;
        const total = this.dataCount;
        const more = returned > 0 && delivered + returned < top &&
            (typeof total === 'number' ? skip + delivered + returned < total : returned === limit);
        if (preferred > 0) this.addResponseHeader('preference-applied', `odata.maxpagesize=${pageSize}`);
        if (!more) return undefined;
        const params = new URLSearchParams(this.allParams);
        params.delete('$skiptoken');
        params.append('$skiptoken', String(delivered + returned));
        const resourcePath = this.url.split('?')[0].replace(/^\/+/, '');
        const root = SERVICE_ROOT.get(this.requestContent.headers);
        // Inside $batch there is no outer URL: a link relative to the service root is what OData allows.
        this[NEXT_LINK] = `${root ? `${root}/` : ''}${resourcePath}?${encodeQuery(params)}`;
        return undefined;
    };

    ODataRequest.prototype.getResponseData = function getResponseDataWithNextLink(asString = true) {
        if (!this[NEXT_LINK]) return originalGetResponseData.call(this, asString);
        const body = originalGetResponseData.call(this, false);
        if (body && typeof body === 'object') {
            if (body.d && Array.isArray(body.d.results)) body.d.__next = this[NEXT_LINK];
            else if (Array.isArray(body.value)) body['@odata.nextLink'] = this[NEXT_LINK];
        }
        return asString && typeof body === 'object' && body !== null ? JSON.stringify(body) : body;
    };
}

// ---------------------------------------------------------------------------------------------------
// CSRF. fe-mockserver only echoes a constant token when the header is exactly "Fetch" on the service
// root, and never checks one. SAP Gateway hands out a token on any GET/HEAD with `x-csrf-token: fetch`,
// binds it to the session cookie, and answers a modifying request without a valid token with 403 and
// `x-csrf-token: Required`. The token is an HMAC of the session id so no per-session state can grow.
const SESSION_COOKIE = 'SAP_SESSIONID_MCK_100';
const CSRF_SECRET = crypto.randomBytes(32);
const MODIFYING = new Set(['POST', 'PUT', 'PATCH', 'MERGE', 'DELETE']);

function sessionIdFrom(req) {
    for (const part of (req.headers.cookie || '').split(';')) {
        const [name, ...rest] = part.trim().split('=');
        if (name === SESSION_COOKIE && rest.length) return rest.join('=');
    }
    return null;
}

function tokenFor(sessionId) {
    return crypto.createHmac('sha256', CSRF_SECRET).update(sessionId).digest('base64url').slice(0, 24);
}

function tokensEqual(a, b) {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// Returns true when the request was answered here.
function applyCsrf(req, res) {
    const sent = req.headers['x-csrf-token'];
    // Consumed here so fe-mockserver's own constant-token answer cannot overwrite ours.
    delete req.headers['x-csrf-token'];
    if ((req.method === 'GET' || req.method === 'HEAD') && typeof sent === 'string' && sent.toLowerCase() === 'fetch') {
        let sessionId = sessionIdFrom(req);
        if (!sessionId) {
            sessionId = crypto.randomBytes(16).toString('hex');
            res.setHeader('set-cookie', `${SESSION_COOKIE}=${sessionId}; path=/; HttpOnly`);
        }
        res.setHeader('x-csrf-token', tokenFor(sessionId));
        return false;
    }
    const method = (req.headers['x-http-method'] || req.method).toUpperCase();
    if (MODIFYING.has(req.method) || MODIFYING.has(method)) {
        const sessionId = sessionIdFrom(req);
        if (!sessionId || typeof sent !== 'string' || !tokensEqual(sent, tokenFor(sessionId))) {
            res.writeHead(403, { 'x-csrf-token': 'Required', 'content-type': 'text/plain' });
            res.end('CSRF token validation failed');
            return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------------
function sendJson(res, statusCode, body) {
    res.writeHead(statusCode, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
}

async function main() {
    const started = process.hrtime.bigint();
    const opts = parseArgs(process.argv);
    const feCore = require('@sap-ux/fe-mockserver-core');
    const FEMockserver = feCore.default;
    if (opts.pageSize > 0) installPaging(feCore.ODataRequest, opts.pageSize);

    const mockserver = new FEMockserver({
        debug: opts.verbose,
        services: opts.services.map(([urlPath, metadataPath]) => ({
            urlPath,
            metadataPath,
            // A folder that does not exist is fine: every entity set then gets generated rows.
            mockdataPath: opts.mockdata.get(urlPath) || path.join(__dirname, '.no-mockdata'),
            generateMockData: true,
            watch: false,
        })),
    });
    await mockserver.isReady;
    const registry = mockserver.getServiceRegistry();
    const router = mockserver.getRouter();
    const convertedMetadata = (urlPath) => registry.getService(urlPath).getMetadata().metadata;
    const boundAll = () => {
        if (!opts.leakFix) return;
        for (const [urlPath] of opts.services) boundDiagnostics(convertedMetadata(urlPath), opts.diagnosticsCap);
    };
    boundAll();

    const server = http.createServer((req, res) => {
        const pathname = (req.url || '/').split('?')[0];
        if (opts.debugEndpoints && pathname === '/__debug/diagnostics-length') {
            const services = {};
            let total = 0;
            for (const [urlPath] of opts.services) {
                const diagnostics = convertedMetadata(urlPath).diagnostics;
                const state = diagnostics[BOUNDED];
                services[urlPath] = { length: diagnostics.length, dropped: state ? state.dropped : 0 };
                total += diagnostics.length;
            }
            // With `node --expose-gc` (harness.py adds it with this flag) the heap figure is after a full GC,
            // so it reflects retained memory rather than garbage not yet collected.
            if (typeof global.gc === 'function') global.gc();
            sendJson(res, 200, {
                total, services, leakFix: opts.leakFix, cap: opts.diagnosticsCap,
                heapUsed: process.memoryUsage().heapUsed, afterGc: typeof global.gc === 'function',
            });
            return;
        }
        boundAll();
        if (opts.csrf && applyCsrf(req, res)) return;
        const service = opts.services.find(([urlPath]) => pathname === urlPath || pathname.startsWith(`${urlPath}/`));
        if (service && req.headers.host) SERVICE_ROOT.set(req.headers, `http://${req.headers.host}${service[0]}`);
        router(req, res, (err) => {
            if (res.headersSent) {
                res.end();
                return;
            }
            if (err) {
                process.stderr.write(`fe_mockserver.js: ${err && err.stack ? err.stack : err}\n`);
                res.writeHead(err.statusCode || 500, { 'content-type': 'text/plain' });
                res.end(String(err.message || err));
                return;
            }
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end(`No service at ${pathname}`);
        });
    });

    let stopping = false;
    const stop = (code) => {
        if (stopping) return;
        stopping = true;
        server.close();
        server.closeAllConnections();
        Promise.resolve(mockserver.dispose()).finally(() => process.exit(code));
        setTimeout(() => process.exit(code), 2000).unref();
    };
    process.on('SIGTERM', () => stop(0));
    process.on('SIGINT', () => stop(0));
    exitWithParent(() => stop(0));

    server.on('error', (err) => {
        process.stderr.write(`fe_mockserver.js: cannot listen on ${opts.host}:${opts.port}: ${err.message}\n`);
        process.exit(1);
    });
    server.listen(opts.port, opts.host, () => {
        const { port } = server.address();
        const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
        process.stdout.write(`${JSON.stringify({
            event: 'ready', host: opts.host, port, pid: process.pid,
            services: opts.services.map(([urlPath]) => urlPath),
            pageSize: opts.pageSize, csrf: opts.csrf, leakFix: opts.leakFix,
            startupMs: Math.round(startupMs),
        })}\n`);
    });
}

if (require.main === module) {
    main().catch((err) => {
        process.stderr.write(`fe_mockserver.js: failed to start: ${err && err.stack ? err.stack : err}\n`);
        process.exit(1);
    });
} else {
    exitWithParent(() => process.exit(0));
}
