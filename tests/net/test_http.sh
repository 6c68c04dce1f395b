#!/bin/sh
# The HTTP API (docs/api.md) with curl against `golite serve` on 127.0.0.1
# and a free port, data in a temporary directory: every route, every bad
# input (each a 4xx with a JSON error body, and nothing changed), listings
# page by page, batches, the event stream, conditional writes, TLS with a
# certificate made here, bearer tokens (read-only ones too), 32 concurrent
# writers with every value checked, kill -9 under PUT load in sync mode
# (every acknowledged PUT survives), and nothing listening beyond loopback.
#
#   sh tests/net/test_http.sh BUILD
#
# Prints one line per failed assertion and "N passed, N failed".

. "$(dirname "$0")/lib.sh"

D=$T/data

# ---- the server, its address, tables ------------------------------------

serve_start "$D" --max-body 1M --events-buffer 16
check "listens on 127.0.0.1 only" eq "$(ss -Htln "sport = :$PORT" | awk '{ print $4 }')" \
	"127.0.0.1:$PORT"
# Every socket the server listens on is a loopback one.
check "nothing else listens" eq "$(ss -Htlnp | grep "pid=$PID," | awk '{ print $4 }' |
	grep -v '^127\.0\.0\.1:' | wc -l)" 0

check "healthz" status_is 200 - GET /healthz
check "readyz" status_is 200 - GET /readyz
check "create table" status_is 201 - PUT /v1/t/users
check "create it again: exists" status_is 409 exists PUT /v1/t/users
check "create bin table" status_is 201 - PUT /v1/t/bin
check "table list" status_is 200 - GET /v1/tables
check "table list body" eq "$(cat "$T/body")" '{"tables":[{"name":"bin"},{"name":"users"}]}'
check "a bad table name" status_is 400 bad_table PUT /v1/t/.golite-x
check "unknown route" status_is 404 no_route GET /v2/nothing
check "bad method" status_is 405 bad_method POST /v1/t/users/k

# ---- keys ------------------------------------------------------------------

check "put" status_is 204 - PUT /v1/t/users/42 --data-binary '{"name":"kim"}'
etag42=$(header ETag)
check "put gives an ETag" eq "$(printf %s "$etag42" | wc -c)" 34
check "get" status_is 200 - GET /v1/t/users/42
check "get body" eq "$(cat "$T/body")" '{"name":"kim"}'
check "get ETag is the put's" eq "$(header ETag)" "$etag42"
check "get Content-Length" eq "$(header Content-Length)" 14
check "get type" eq "$(header Content-Type)" application/octet-stream
check "head" status_is 200 - HEAD /v1/t/users/42 -I
check "head Content-Length" eq "$(header Content-Length)" 14
check "head has no body" cmp -s "$T/body" "$T/headers"
check "conditional get: 304" status_is 304 - GET /v1/t/users/42 -H "If-None-Match: $etag42"
check "missing key" status_is 404 not_found GET /v1/t/users/nope
check "missing table (get)" status_is 404 no_table GET /v1/t/nope/k
check "missing table (put)" status_is 404 no_table PUT /v1/t/nope/k --data-binary x
check "missing table (delete)" status_is 404 no_table DELETE /v1/t/nope/k

# Keys with any byte: '/', NUL, space, UTF-8, percent-decoded.
check "put key with slash, NUL" status_is 204 - PUT '/v1/t/users/a%2Fb/c%00d%20e' --data-binary v1
check "get it back" status_is 200 - GET '/v1/t/users/a/b/c%00d%20e'
check "its value" eq "$(cat "$T/body")" v1
check "utf-8 key" status_is 204 - PUT '/v1/t/users/%ED%95%9C' --data-binary hangul
check "golite sees the bytes" true   # checked after the stop, with golite get -e
check "empty value" status_is 204 - PUT /v1/t/users/empty --data-binary ''
check "empty value reads back" status_is 200 - GET /v1/t/users/empty
check "empty value length" eq "$(header Content-Length)" 0

# Binary values, and a large one sent chunked (no Content-Length).
head -c 300000 /dev/urandom >"$T/big"
check "binary put, chunked" status_is 204 - PUT /v1/t/bin/big --data-binary "@$T/big" \
	-H 'Transfer-Encoding: chunked'
check "binary get" status_is 200 - GET /v1/t/bin/big
check "binary round trip" cmp -s "$T/body" "$T/big"

# Malformed keys and escapes change nothing.
check "bad escape" status_is 400 bad_key PUT '/v1/t/users/a%zz' --data-binary x
check "truncated escape" status_is 400 bad_key PUT '/v1/t/users/a%2' --data-binary x
check "empty key" status_is 400 bad_key PUT '/v1/t/users/' --data-binary x
long=$(head -c 8193 /dev/zero | tr '\0' k)
check "key too long" status_is 400 bad_key PUT "/v1/t/users/$long" --data-binary x
check "bad table escape" status_is 400 bad_table GET '/v1/t/us%zzers/k'
check "NUL in a table name" status_is 400 bad_table GET '/v1/t/us%00ers/k'

# Oversize bodies: 413, told by Content-Length or found while reading.
head -c 1100000 /dev/zero >"$T/toobig"
check "oversize body" status_is 413 too_large PUT /v1/t/users/huge --data-binary "@$T/toobig"
check "oversize chunked body" status_is 413 too_large PUT /v1/t/users/huge \
	--data-binary "@$T/toobig" -H 'Transfer-Encoding: chunked'
check "nothing written" status_is 404 not_found GET /v1/t/users/huge

# Times to live: ?ttl=SECONDS, Golite-Expires-In on reads, bad ones 400.
check "put with a ttl" status_is 204 - PUT '/v1/t/users/tmp?ttl=100' --data-binary t
check "get shows the time left" status_is 200 - GET /v1/t/users/tmp
check "Golite-Expires-In" eq "$(header Golite-Expires-In)" 100
check "listed with its time left" status_is 200 - GET '/v1/t/users?prefix=tmp'
check "expires_in in the listing" grep -q '"key":"tmp","size":1,"expires_in":100}' "$T/body"
check "a plain put clears it" status_is 204 - PUT /v1/t/users/tmp --data-binary u
check "no header then" status_is 200 - GET /v1/t/users/tmp
check "Golite-Expires-In gone" eq "$(header Golite-Expires-In)" ""
for bad in x -1 0 1.5 3155760001 ''; do
	check "ttl=$bad refused" status_is 400 bad_ttl PUT "/v1/t/users/badttl?ttl=$bad" --data-binary x
done
check "bad ttls wrote nothing" status_is 404 not_found GET /v1/t/users/badttl
check "a short ttl" status_is 204 - PUT '/v1/t/users/short?ttl=1' --data-binary s
n=0
while [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/t/users/short")" = 200 ] && [ $n -lt 600 ]; do
	n=$((n + 1))
	sleep 0.05
done
check "gone at its expiry" status_is 404 not_found GET /v1/t/users/short

# ---- conditional writes ----------------------------------------------------

check "create-only: new" status_is 201 - PUT /v1/t/users/c1 -H 'If-None-Match: *' --data-binary a
etag_a=$(header ETag)
check "create-only: exists" status_is 412 precondition_failed PUT /v1/t/users/c1 \
	-H 'If-None-Match: *' --data-binary b
check "cas: wrong tag" status_is 412 precondition_failed PUT /v1/t/users/c1 \
	-H 'If-Match: "00000000000000000000000000000000"' --data-binary b
check "value unchanged" status_is 200 - GET /v1/t/users/c1
check "value unchanged (body)" eq "$(cat "$T/body")" a
check "cas: right tag" status_is 204 - PUT /v1/t/users/c1 -H "If-Match: $etag_a" --data-binary b
check "cas: the old tag lost" status_is 412 precondition_failed PUT /v1/t/users/c1 \
	-H "If-Match: $etag_a" --data-binary c
check "cas on a missing key" status_is 412 precondition_failed PUT /v1/t/users/c2 \
	-H 'If-Match: *' --data-binary c
check "conditional delete: wrong" status_is 412 precondition_failed DELETE /v1/t/users/c1 \
	-H "If-Match: $etag_a"
check "delete" status_is 204 - DELETE /v1/t/users/c1
check "deleted" status_is 404 not_found GET /v1/t/users/c1

# Compare-and-set is atomic: 20 clients each add one to a counter, retrying
# on 412; the counter must end at 20.
req PUT /v1/t/users/counter --data-binary 0 >/dev/null
i=0
while [ $i -lt 20 ]; do
	(
		while :; do
			v=$(curl -s -D "$T/h.$i" "$URL/v1/t/users/counter")
			tag=$(tr -d '\r' <"$T/h.$i" | awk 'tolower($1) == "etag:" { print $2 }')
			code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "If-Match: $tag" \
				--data-binary "$((v + 1))" "$URL/v1/t/users/counter")
			[ "$code" = 204 ] && break
			[ "$code" = 412 ] || { echo "cas: status $code" >&2; break; }
		done
	) &
	CLIENTS="$CLIENTS $!"
	i=$((i + 1))
done
wait_clients
check "20 compare-and-set increments" eq "$(curl -s "$URL/v1/t/users/counter")" 20

# ---- listings --------------------------------------------------------------

req PUT /v1/t/list >/dev/null
i=0
while [ $i -lt 25 ]; do
	n=$(printf '%03d' $i)
	req PUT "/v1/t/list/k$n" --data-binary "v$n" >/dev/null
	i=$((i + 1))
done
req PUT /v1/t/list/other --data-binary o >/dev/null
check "list page" status_is 200 - GET '/v1/t/list?prefix=k&limit=10'
check "NDJSON type" eq "$(header Content-Type)" application/x-ndjson
check "first line" eq "$(head -n1 "$T/body")" '{"key":"k000","size":4}'
check "page of 10 + next" eq "$(wc -l <"$T/body")" 11
# Follow the cursor to the end: every key once, in order.
: >"$T/all"
cursor=""
pages=0
while :; do
	req GET "/v1/t/list?prefix=k&limit=10&values=1$cursor" >/dev/null
	grep '"key"' "$T/body" >>"$T/all"
	next=$(sed -n 's/^{"next":"\(.*\)"}$/\1/p' "$T/body")
	pages=$((pages + 1))
	[ -n "$next" ] || break
	cursor="&cursor=$next"
	[ $pages -gt 10 ] && break
done
check "three pages" eq "$pages" 3
check "25 keys listed" eq "$(wc -l <"$T/all")" 25
check "values listed" eq "$(sed -n 25p "$T/all")" '{"key":"k024","value":"v024"}'
check "start and end" status_is 200 - GET '/v1/t/list?start=k010&end=k013'
check "start and end keys" eq "$(cut -c1-14 "$T/body" | tr '\n' ' ')" \
	'{"key":"k010", {"key":"k011", {"key":"k012", '
check "a million-key listing is streamed (no limit)" status_is 200 - GET '/v1/t/list?limit=0'
check "  all 26" eq "$(wc -l <"$T/body")" 26
check "binary keys in base64" status_is 200 - GET '/v1/t/users?prefix=a%2Fb'
check "  key_b64" eq "$(cat "$T/body")" '{"key_b64":"YS9iL2MAZCBl","size":2}'
check "bad limit" status_is 400 bad_argument GET '/v1/t/list?limit=x'
check "bad cursor" status_is 400 bad_argument GET '/v1/t/list?cursor=%21%21'
check "bad argument escape" status_is 400 bad_argument GET '/v1/t/list?prefix=%zz'
check "listing a missing table" status_is 404 no_table GET /v1/t/nope

# ---- batches ---------------------------------------------------------------

check "batch" status_is 200 - POST /v1/batch --data-binary '{"ops":[
	{"op":"put","table":"users","key":"b1","value":"one"},
	{"op":"put","table":"bin","key_b64":"AAE=","value_b64":"AP8="},
	{"op":"rename","table":"users","key":"b1","to_table":"bin","to_key":"moved"},
	{"op":"delete","table":"users","key":"42"}]}'
check "batch reply" eq "$(cat "$T/body")" '{"applied":4}'
check "renamed within the batch" eq "$(curl -s "$URL/v1/t/bin/moved")" one
check "rename source gone" status_is 404 not_found GET /v1/t/users/b1
check "batch delete" status_is 404 not_found GET /v1/t/users/42
check "base64 key and value" eq "$(curl -s "$URL/v1/t/bin/%00%01" | od -An -tx1 | tr -d ' ')" 00ff
check "bad JSON" status_is 400 bad_json POST /v1/batch --data-binary '{"ops":[{"op":'
check "not a list" status_is 400 bad_batch POST /v1/batch --data-binary '{"x":1}'
check "unknown op" status_is 400 bad_batch POST /v1/batch \
	--data-binary '[{"op":"put","table":"users","key":"z1","value":"1"},{"op":"frob","table":"users","key":"x"}]'
check "  nothing applied" status_is 404 not_found GET /v1/t/users/z1
check "missing table in a batch" status_is 404 no_table POST /v1/batch \
	--data-binary '[{"op":"put","table":"users","key":"z1","value":"1"},{"op":"put","table":"nope","key":"x","value":"1"}]'
check "  nothing applied" status_is 404 not_found GET /v1/t/users/z1
check "rename of a missing key" status_is 404 not_found POST /v1/batch \
	--data-binary '[{"op":"put","table":"users","key":"z1","value":"1"},{"op":"rename","table":"users","key":"nokey","to_key":"y"}]'
check "  nothing applied" status_is 404 not_found GET /v1/t/users/z1
check "oversize batch" status_is 413 too_large POST /v1/batch --data-binary "@$T/toobig"

# ---- checkpoint ------------------------------------------------------------

check "a checkpoint" status_is 201 - POST /v1/checkpoint --data-binary "{\"dir\":\"$T/ckpt\"}"
check "  its reply" grep -q "^{\"dir\":\"$T/ckpt\",\"sequence\":[0-9][0-9]*}$" "$T/body"
check "  it exists" test -f "$T/ckpt/MANIFEST"
check "  an existing directory" status_is 409 exists POST /v1/checkpoint \
	--data-binary "{\"dir\":\"$T/ckpt\"}"
check "  a relative path" status_is 400 bad_dir POST /v1/checkpoint --data-binary '{"dir":"rel"}'
check "  a missing parent" status_is 404 not_found POST /v1/checkpoint \
	--data-binary "{\"dir\":\"$T/missing/ckpt\"}"
check "  a body without dir" status_is 400 bad_request POST /v1/checkpoint --data-binary '{"x":1}'
check "  bad JSON" status_is 400 bad_json POST /v1/checkpoint --data-binary '{"dir":'
check "  GET" status_is 405 bad_method GET /v1/checkpoint
check "  nothing left by them" sh -c "! ls -d '$T'/ckpt.tmp* '$T/missing' 2>/dev/null"
check "  the checkpoint checks clean" sh -c "'$G' check -q '$T/ckpt' >/dev/null"
check "  it holds the batch's keys" eq "$("$G" get "$T/ckpt" bin moved)" one

# ---- snapshots ---------------------------------------------------------------

req PUT /v1/t/snap >/dev/null
req PUT /v1/t/snap/k --data-binary old >/dev/null
req PUT /v1/t/snap/gone --data-binary here >/dev/null
check "a snapshot" status_is 201 - PUT /v1/snapshots/s1
check "  its reply" grep -q '^{"name":"s1","sequence":[0-9][0-9]*}$' "$T/body"
req PUT /v1/t/snap/k --data-binary new >/dev/null
req DELETE /v1/t/snap/gone >/dev/null
req PUT /v1/t/snap/later --data-binary x >/dev/null
check "a GET now" eq "$(curl -s "$URL/v1/t/snap/k")" new
check "a GET at the snapshot" eq "$(curl -s "$URL/v1/t/snap/k?snapshot=s1")" old
check "  a key deleted since" eq "$(curl -s "$URL/v1/t/snap/gone?snapshot=s1")" here
check "  a key written since" status_is 404 not_found GET "/v1/t/snap/later?snapshot=s1"
check "a listing at the snapshot" eq "$(curl -s "$URL/v1/t/snap?snapshot=s1&values=1" | tr '\n' ' ')" \
	'{"key":"gone","value":"here"} {"key":"k","value":"old"} '
check "the list of snapshots" sh -c "curl -s '$URL/v1/snapshots' | grep -q '^{\"snapshots\":\[{\"name\":\"s1\",\"sequence\":[0-9]*,\"time\":[0-9.]*}\]}\$'"
check "  a name taken" status_is 409 exists PUT /v1/snapshots/s1
check "  a bad name" status_is 400 bad_snapshot PUT /v1/snapshots/a%2Fb
check "  a missing one" status_is 404 no_snapshot GET "/v1/t/snap/k?snapshot=nope"
check "  a write at one" status_is 400 bad_argument PUT "/v1/t/snap/k?snapshot=s1" --data-binary x
check "  nothing written" eq "$(curl -s "$URL/v1/t/snap/k")" new
check "  drop" status_is 204 - DELETE /v1/snapshots/s1
check "  dropped" status_is 404 no_snapshot GET "/v1/t/snap/k?snapshot=s1"
check "  drop again" status_is 404 no_snapshot DELETE /v1/snapshots/s1

# ---- tables: drop ----------------------------------------------------------

check "drop a table with keys" status_is 409 not_empty DELETE /v1/t/list
check "  still there" status_is 200 - GET /v1/t/list/k000
check "drop with force" status_is 204 - DELETE '/v1/t/list?force=1'
check "  gone" status_is 404 no_table GET /v1/t/list/k000
req PUT /v1/t/empty >/dev/null
check "drop an empty table" status_is 204 - DELETE /v1/t/empty
check "drop a missing table" status_is 404 no_table DELETE /v1/t/empty

# ---- events ----------------------------------------------------------------

req PUT /v1/t/ev >/dev/null
curl -s -N "$URL/v1/events?table=ev&prefix=a" >"$T/events" &
evpid=$!
n=0
while ! grep -q retry "$T/events" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
req PUT /v1/t/ev/a1 --data-binary 1 >/dev/null
req PUT /v1/t/ev/b1 --data-binary 1 >/dev/null
req PUT /v1/t/users/a2 --data-binary 1 >/dev/null
req DELETE /v1/t/ev/a1 >/dev/null
n=0
while [ "$(grep -c '^event:' "$T/events")" -lt 2 ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
kill "$evpid" 2>/dev/null
wait "$evpid" 2>/dev/null
check "events filtered by table and prefix" eq "$(grep '^event:' "$T/events" | tr '\n' ' ')" \
	'event: put event: delete '
check "event data" grep -q '^data: {"seq":[0-9]*,"time":[0-9.]*,"op":"put","table":"ev","key":"a1"}$' \
	"$T/events"
last=$(grep '^id:' "$T/events" | head -n1 | cut -d' ' -f2)
# Resume after the first event: the delete comes again.
curl -s -N --max-time 2 -H "Last-Event-ID: $last" "$URL/v1/events?table=ev&prefix=a" >"$T/events2"
check "Last-Event-ID resumes" eq "$(grep '^event:' "$T/events2" | tr '\n' ' ')" 'event: delete '
# The store's feed keeps 16 events (--events-buffer): after 20 more
# writes while a stream reads, a stream from the start missed the first.
curl -s -N --max-time 10 "$URL/v1/events" >"$T/events-all" &
evpid=$!
n=0
while ! grep -q retry "$T/events-all" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
i=0
while [ $i -lt 20 ]; do
	req PUT /v1/t/ev/m$i --data-binary 1 >/dev/null
	i=$((i + 1))
done
kill "$evpid" 2>/dev/null
wait "$evpid" 2>/dev/null
curl -s -N --max-time 2 "$URL/v1/events?last_event_id=0" >"$T/events3"
check "missed event" grep -q '^event: missed$' "$T/events3"
check "missed count" grep -q '^data: {"first":1,"count":[0-9]*}$' "$T/events3"
check "bad Last-Event-ID" status_is 400 bad_argument GET /v1/events -H 'Last-Event-ID: x'

# ---- metrics ---------------------------------------------------------------

check "metrics" status_is 200 - GET /metrics
check "metrics type" eq "$(header Content-Type)" 'text/plain; version=0.0.4; charset=utf-8'
check "puts counted" grep -q '^golite_puts_total [1-9]' "$T/body"
check "every figure has HELP and TYPE" awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { type[$3] = 1; next }
	{ name = $1; sub(/\{.*/, "", name); if (!help[name] || !type[name]) { print "no HELP/TYPE: " name; bad = 1 } }
	END { exit bad }' "$T/body"
check "every figure: 57 of golite_stats, 6 of the server" \
	eq "$(grep -c '^# TYPE golite_' "$T/body")" 63
check "value files figured" grep -q '^golite_value_files [0-9]' "$T/body"
check "expired keys counted" grep -q '^golite_expired_keys_total [1-9]' "$T/body"

# ---- 32 concurrent writers -------------------------------------------------

req PUT /v1/t/conc >/dev/null
w=0
while [ $w -lt 32 ]; do
	(
		j=0
		while [ $j -lt 20 ]; do
			curl -s -o /dev/null -w '%{http_code}\n' -X PUT --data-binary "w$w-v$j-$(printf '%0*d' $((j * 50)) 0)" \
				"$URL/v1/t/conc/w$w/k$j"
			j=$((j + 1))
		done >"$T/conc.$w"
	) &
	CLIENTS="$CLIENTS $!"
	w=$((w + 1))
done
wait_clients
check "640 writes acknowledged" eq "$(cat "$T"/conc.* | grep -c '^204$')" 640
bad=0
w=0
while [ $w -lt 32 ]; do
	j=0
	while [ $j -lt 20 ]; do
		want="w$w-v$j-$(printf '%0*d' $((j * 50)) 0)"
		got=$(curl -s "$URL/v1/t/conc/w$w/k$j")
		[ "$got" = "$want" ] || bad=$((bad + 1))
		j=$((j + 1))
	done
	w=$((w + 1))
done
check "every concurrent value reads back" eq "$bad" 0

# ---- clean stop --------------------------------------------------------------

serve_stop
check "SIGTERM: exit 0" eq "$STOP_STATUS" 0
check "the store closed cleanly, values there" eq "$("$G" get "$D" bin moved)" one
check "utf-8 key through golite" eq "$("$G" get "$D" users 한)" hangul
check "binary key through golite" eq "$("$G" get -e "$D" users 'a/b/c\x00d e')" v1

# ---- TLS -------------------------------------------------------------------

if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
		-days 1 -subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		2>/dev/null
	SCHEME=https serve_start "$D" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
	CURL_OPTS="--cacert $T/cert.pem"
	check "https get" status_is 200 - GET /v1/t/bin/moved
	check "https body" eq "$(cat "$T/body")" one
	check "https put" status_is 204 - PUT /v1/t/bin/tls --data-binary secure
	CURL_OPTS=""
	check "certificate checked" eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" 000
	check "plain HTTP refused" eq "$(curl -s -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$PORT/healthz")" 000
	serve_stop
	check "https server stops" eq "$STOP_STATUS" 0
	SCHEME=http
	check "a key without a certificate" eq "$("$G" serve -l 127.0.0.1:0 --tls-key "$T/key.pem" \
		"$D" 2>&1 >/dev/null | grep -c 'both a certificate and a key')" 1
else
	check "openssl is installed (make deps)" false
fi

# ---- tokens ----------------------------------------------------------------

printf '# tokens\nrw-token-0123456789 rw\nro-token-0123456789 ro\n' >"$T/tokens"
chmod 644 "$T/tokens"
"$G" serve -l "127.0.0.1:$(free_port)" --tokens "$T/tokens" "$D" 2>"$T/err" &
p=$!
SERVER_PIDS="$SERVER_PIDS $p"
wait "$p"
check "a tokens file others can read is refused" eq "$?" 2
check "  and says why" grep -q 'chmod 600' "$T/err"
chmod 600 "$T/tokens"
serve_start "$D" --tokens "$T/tokens"
check "no token" status_is 401 unauthorized GET /v1/t/bin/moved
check "  WWW-Authenticate" eq "$(header WWW-Authenticate)" 'Bearer realm="golite"'
check "wrong token" status_is 401 unauthorized GET /v1/t/bin/moved -H 'Authorization: Bearer nope-nope-nope'
check "ro token reads" status_is 200 - GET /v1/t/bin/moved -H 'Authorization: Bearer ro-token-0123456789'
check "ro token cannot put" status_is 403 forbidden PUT /v1/t/bin/moved --data-binary x \
	-H 'Authorization: Bearer ro-token-0123456789'
check "ro token cannot delete" status_is 403 forbidden DELETE /v1/t/bin/moved \
	-H 'Authorization: Bearer ro-token-0123456789'
check "ro token cannot batch" status_is 403 forbidden POST /v1/batch --data-binary '[]' \
	-H 'Authorization: Bearer ro-token-0123456789'
check "ro token cannot make a snapshot" status_is 403 forbidden PUT /v1/snapshots/ro \
	-H 'Authorization: Bearer ro-token-0123456789'
check "ro token cannot checkpoint" status_is 403 forbidden POST /v1/checkpoint \
	--data-binary "{\"dir\":\"$T/ckpt-ro\"}" -H 'Authorization: Bearer ro-token-0123456789'
check "  nothing made" test ! -e "$T/ckpt-ro"
check "  value unchanged" eq "$(curl -s -H 'Authorization: Bearer ro-token-0123456789' \
	"$URL/v1/t/bin/moved")" one
check "rw token writes" status_is 204 - PUT /v1/t/bin/moved --data-binary two \
	-H 'Authorization: Bearer rw-token-0123456789'
check "metrics need a token" status_is 401 unauthorized GET /metrics
check "healthz needs none" status_is 200 - GET /healthz
serve_stop

# ---- kill -9 under PUT load, sync durability ---------------------------------

GLOBAL=--sync serve_start "$T/crash"
req PUT /v1/t/c >/dev/null
w=0
while [ $w -lt 8 ]; do
	(
		j=0
		while :; do
			code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "value-$w-$j" \
				"$URL/v1/t/c/w$w-$j")
			[ "$code" = 204 ] || break
			# Acknowledged: it must survive.
			echo "w$w-$j value-$w-$j"
			j=$((j + 1))
		done >"$T/acked.$w"
	) &
	CLIENTS="$CLIENTS $!"
	w=$((w + 1))
done
# Let the writers run until some hundreds of PUTs were acknowledged.
n=0
while [ "$(cat "$T"/acked.* | wc -l)" -lt 400 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
kill -9 "$PID"
wait "$PID" 2>/dev/null
wait_clients
cat "$T"/acked.* >"$T/acked"
check "PUTs were acknowledged before the kill" test "$(wc -l <"$T/acked")" -ge 400
"$G" ls -v "$T/crash" c | sort >"$T/after"
sort "$T/acked" | tr ' ' '\t' >"$T/want"
check "every acknowledged PUT survived kill -9" eq "$(comm -23 "$T/want" "$T/after" | wc -l)" 0

finish
