-- tcptop-query --schema; docs/QUERY.md lists 9 changes
-- one row per capture file
CREATE TABLE capture (
	file TEXT,               -- capture file as given on the command line
	host TEXT,               -- host name of the recording machine
	kernel TEXT,             -- uname -r of the recording machine
	boot_id TEXT,            -- boot id of the recording machine
	start_ns INTEGER,        -- wall clock ns when the capture began
	end_ns INTEGER,          -- wall clock ns of the last event (from block headers), NULL while written
	mode TEXT,               -- 'coalesce', 'raw', ...
	coalesce_ms INTEGER,     -- coalescing interval in coalesce mode, else 0
	filters TEXT,            -- filters in force while recording, '' for none
	probes TEXT,             -- attach points in use
	tool_version TEXT,       -- tcptop version that wrote the file
	format_version TEXT,     -- capture format version 'MAJOR.MINOR'
	clock TEXT,              -- event clock of the recorder ('boottime')
	events INTEGER,          -- events readable in the file (reading this column reads the file)
	warnings INTEGER,        -- reader warnings (damage) while reading the file
	missing TEXT,            -- capabilities the recorder lacked: 'name (why): what the data lacks; ...', '' for none
	raw_slice_ns INTEGER,    -- raw mode: a socket's TCP calls summed per this, 0: one per call
	writing INTEGER          -- 1: a recorder was still writing it, read up to its last flush (end_ns NULL), else 0
);

-- one row per connection per file
CREATE TABLE connections (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	id INTEGER,              -- connection id (socket cookie, or flow id for UDP)
	proto TEXT,              -- 'tcp' or 'udp'; NULL if the open was not captured
	family INTEGER,          -- 4 or 6
	laddr TEXT,              -- local address
	lport INTEGER,           -- local port
	raddr TEXT,              -- remote address, NULL for an unconnected UDP flow
	rport INTEGER,           -- remote port
	direction TEXT,          -- 'out' (connect), 'in' (accept) or NULL
	pid INTEGER,             -- process id, NULL if never known
	comm TEXT,               -- process name
	cgroup INTEGER,          -- cgroup v2 id
	netns INTEGER,           -- network namespace inode
	first_ts INTEGER,        -- wall ns of its first event
	last_ts INTEGER,         -- wall ns of its last event
	close_ts INTEGER,        -- wall ns of its close, NULL while open
	tx_bytes INTEGER,        -- bytes sent (sum of traffic deltas, or the close's counters if larger)
	rx_bytes INTEGER,        -- bytes received
	tx_packets INTEGER,      -- segments / datagrams sent
	rx_packets INTEGER,      -- segments / datagrams received
	state TEXT,              -- last TCP state ('ESTABLISHED', 'CLOSED', ...), NULL for UDP
	rtt_us INTEGER,          -- last smoothed RTT in microseconds, NULL if never sampled
	max_rtt_us INTEGER,      -- largest smoothed RTT sample
	retransmits INTEGER,     -- retransmitted segments
	resets INTEGER,          -- RSTs sent or received
	closed INTEGER,          -- 1 if its close was captured, else 0
	preexisting INTEGER,     -- 1 if it was open before the capture began
	events INTEGER,          -- events about this connection
	community_id TEXT,       -- Community ID v1 flow hash ('1:...'), NULL when an address is unknown
	retrans_rto INTEGER,     -- retransmitted segments after a timeout (retrans events, cause rto)
	retrans_fast INTEGER,    -- segments fast-retransmitted (SACK/RACK/dupack recovery)
	retrans_tlp INTEGER,     -- tail loss probes that resent a segment
	retrans_spurious INTEGER, -- retransmitted segments the peer reported as duplicates (DSACK): needless
	connect_us INTEGER,      -- handshake time: SYN sent to ESTABLISHED (client), SYN-ACK RTT (server); NULL if not seen
	accept_wait_us INTEGER,  -- ESTABLISHED to accept() by the process, NULL if not seen
	syn_retrans INTEGER,     -- SYNs (client) or SYN-ACKs (server) retransmitted, NULL if not seen
	fail_reason TEXT,        -- 'refused' 'timeout' 'unreachable' 'reset' 'local-reset' 'abort', NULL if it did not fail
	zero_window_ms INTEGER   -- time in zero-window stalls that ended (local and peer sides), NULL for UDP
);

-- every event, file by file, in file order
CREATE TABLE events (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	ts INTEGER,              -- wall clock ns since the epoch
	kind TEXT,               -- open traffic state rtt retrans reset close conn_proc exec exit proc_name lost stats handshake accept sample stall listener drop (see docs/QUERY.md)
	conn_id INTEGER,         -- connection id, NULL when not about a connection
	pid INTEGER,             -- process id, NULL when unknown
	tid INTEGER,             -- thread id, NULL when unknown
	flags INTEGER,           -- TT_F_* bits (1 preexisting, 2 pid unknown, 4 raw)
	tx_bytes INTEGER,        -- traffic: delta; close: absolute
	rx_bytes INTEGER,        -- traffic: delta; close: absolute
	tx_packets INTEGER,      -- traffic: delta; close: absolute
	rx_packets INTEGER,      -- traffic: delta; close: absolute
	tx_calls INTEGER,        -- traffic: send calls
	rx_calls INTEGER,        -- traffic: recv calls
	old_state TEXT,          -- state: TCP state before
	new_state TEXT,          -- state: TCP state after
	state TEXT,              -- open, retrans, reset, close: TCP state at the time
	rtt_us INTEGER,          -- rtt: smoothed RTT; close: last smoothed RTT
	rttvar_us INTEGER,       -- rtt: RTT variance
	retrans INTEGER,         -- retrans: segments; close: total retransmitted segments
	reset_dir TEXT,          -- reset: 'sent' or 'received'
	proto TEXT,              -- open: 'tcp' or 'udp'
	family INTEGER,          -- open: 4 or 6
	laddr TEXT,              -- open: local address
	lport INTEGER,           -- open: local port
	raddr TEXT,              -- open: remote address
	rport INTEGER,           -- open: remote port
	direction TEXT,          -- open: 'out', 'in' or NULL
	netns INTEGER,           -- open: network namespace inode
	cgroup INTEGER,          -- open: cgroup v2 id
	comm TEXT,               -- open, conn_proc, exec, exit, proc_name: process name
	ppid INTEGER,            -- conn_proc, exec, exit, proc_name: parent pid
	exit_code INTEGER,       -- exit: wait status (exit(n) reads n * 256, signal s reads s)
	lost INTEGER,            -- lost: events lost; stats: events lost so far
	cpu INTEGER,             -- lost: cpu
	stat_events INTEGER,     -- stats: events received so far
	stat_conns INTEGER,      -- stats: connections seen so far
	stat_bytes INTEGER,      -- stats: capture bytes written so far
	community_id TEXT,       -- open: Community ID v1 flow hash, NULL when an address is unknown
	cause TEXT,              -- retrans: 'rto', 'fast', 'tlp', 'syn', 'spurious' or 'unknown'
	spurious INTEGER,        -- retrans (cause spurious): segments the peer reported as duplicates
	accept_queue INTEGER,    -- listener: connections waiting for accept()
	accept_queue_max INTEGER, -- listener: its accept queue's limit (backlog)
	listen_drops INTEGER,    -- listener: the socket's drops (sk_drops) so far
	reason TEXT,             -- drop: the kernel's drop reason (SKB_DROP_REASON_ without prefix)
	drop_code INTEGER,       -- drop: the reason's number on the recording kernel
	fail_reason TEXT,        -- close: 'refused' 'timeout' 'unreachable' 'reset' 'local-reset' 'abort', NULL when it did not fail
	connect_us INTEGER,      -- handshake: SYN to ESTABLISHED (server: SYN-ACK RTT)
	syn_retrans INTEGER,     -- handshake: SYNs or SYN-ACKs retransmitted
	accept_wait_us INTEGER   -- accept: ESTABLISHED to accept()
);

-- one row per process per file
CREATE TABLE processes (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	pid INTEGER,             -- process id (a pid reused after an exit is a new row)
	comm TEXT,               -- last known name
	ppid INTEGER,            -- parent pid, NULL if unknown
	first_ts INTEGER,        -- wall ns of its first event
	last_ts INTEGER,         -- wall ns of its last event
	exit_ts INTEGER,         -- wall ns of its exit, NULL if not seen
	exit_code INTEGER,       -- wait status at exit (as in events), NULL if not seen
	execs INTEGER,           -- exec events seen
	connections INTEGER      -- connections attributed to it
);

-- one row per LOST record
CREATE TABLE lost (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	ts INTEGER,              -- wall ns of the LOST record
	cpu INTEGER,             -- cpu whose events were lost
	count INTEGER            -- events lost since the previous record for this cpu
);

-- one row per LISTENER record: a listening socket's queue and drops when first seen and when they changed
CREATE TABLE listeners (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	ts INTEGER,              -- wall ns of the record (first sight, or a value changed)
	laddr TEXT,              -- listening address ('0.0.0.0', '::' for any)
	lport INTEGER,           -- listening port
	pid INTEGER,             -- owner's process id, NULL if not known yet
	comm TEXT,               -- owner's process name
	accept_queue INTEGER,    -- connections waiting for accept() (sk_ack_backlog)
	accept_queue_max INTEGER, -- the accept queue's limit (sk_max_ack_backlog)
	overflows INTEGER,       -- drops the kernel counted on this socket so far (sk_drops): its ListenDrops, of which accept-queue overflows (ListenOverflows) are part
	syn_drops INTEGER,       -- NULL: the kernel counts SYN-queue drops per namespace only
	family INTEGER,          -- 4 or 6
	netns INTEGER            -- network namespace inode
);

-- one row per DROP record: a packet the kernel dropped, and why
CREATE TABLE drops (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	ts INTEGER,              -- wall ns of the drop
	conn_id INTEGER,         -- the connection whose packet it was, NULL: the host's (no socket we follow)
	reason TEXT,             -- the kernel's drop reason, as its BTF names it without SKB_DROP_REASON_ ('NETFILTER_DROP'), NULL if the recorder could not name it
	code INTEGER             -- the reason's number on the recording kernel (differs between kernels)
);

-- one row per sample of a TCP connection's state
CREATE TABLE samples (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	conn_id INTEGER,         -- connection id
	ts INTEGER,              -- wall ns of the sample
	srtt_us INTEGER,         -- smoothed RTT (tcpi_rtt)
	min_rtt_us INTEGER,      -- minimum RTT (tcpi_min_rtt)
	rttvar_us INTEGER,       -- RTT variance (tcpi_rttvar)
	cwnd INTEGER,            -- congestion window, segments (tcpi_snd_cwnd)
	ssthresh INTEGER,        -- slow start threshold, segments; NULL while infinite
	pacing_rate INTEGER,     -- pacing rate, bytes/s; NULL when unlimited or not given (the close's sample)
	delivery_rate INTEGER,   -- delivery rate, bytes/s (tcpi_delivery_rate)
	app_limited INTEGER,     -- 1 if the delivery rate was measured app-limited
	in_flight INTEGER,       -- segments in flight (tcp_packets_in_flight)
	lost INTEGER,            -- segments marked lost (tcpi_lost)
	reordering INTEGER,      -- reordering degree, segments (tcpi_reordering)
	dsack_dups INTEGER,      -- DSACKed segments (tcpi_dsack_dups)
	busy_us INTEGER,         -- time busy sending (tcpi_busy_time)
	rwnd_limited_us INTEGER, -- of it, limited by the peer's window (tcpi_rwnd_limited)
	sndbuf_limited_us INTEGER, -- of it, limited by the send buffer (tcpi_sndbuf_limited)
	snd_wnd INTEGER,         -- the peer's window, bytes (tcpi_snd_wnd)
	rcv_wnd INTEGER          -- the window advertised last, bytes (tcpi_rcv_wnd)
);

-- one row per zero-window stall
CREATE TABLE stalls (
	file TEXT,               -- capture file
	host TEXT,               -- host name of the recording machine
	conn_id INTEGER,         -- connection id
	side TEXT,               -- 'local' (we advertised a zero window: our process did not read) or 'peer'
	start_ns INTEGER,        -- wall ns it began
	end_ns INTEGER           -- wall ns it ended, NULL if not seen ending
);

-- the same tables with readable UTC times ('2026-11-25 10:56:25.123456')
CREATE VIEW events_v AS SELECT strftime('%Y-%m-%d %H:%M:%S', ts / 1000000000, 'unixepoch') || printf('.%06d', (ts / 1000) % 1000000) AS time, * FROM events;
CREATE VIEW connections_v AS SELECT strftime('%Y-%m-%d %H:%M:%S', first_ts / 1000000000, 'unixepoch') || printf('.%06d', (first_ts / 1000) % 1000000) AS first_time, strftime('%Y-%m-%d %H:%M:%S', last_ts / 1000000000, 'unixepoch') || printf('.%06d', (last_ts / 1000) % 1000000) AS last_time, (last_ts - first_ts) / 1e9 AS duration_s, * FROM connections;
CREATE VIEW processes_v AS SELECT strftime('%Y-%m-%d %H:%M:%S', first_ts / 1000000000, 'unixepoch') || printf('.%06d', (first_ts / 1000) % 1000000) AS first_time, strftime('%Y-%m-%d %H:%M:%S', last_ts / 1000000000, 'unixepoch') || printf('.%06d', (last_ts / 1000) % 1000000) AS last_time, * FROM processes;
CREATE VIEW lost_v AS SELECT strftime('%Y-%m-%d %H:%M:%S', ts / 1000000000, 'unixepoch') || printf('.%06d', (ts / 1000) % 1000000) AS time, * FROM lost;
CREATE VIEW listeners_v AS SELECT strftime('%Y-%m-%d %H:%M:%S', ts / 1000000000, 'unixepoch') || printf('.%06d', (ts / 1000) % 1000000) AS time, * FROM listeners;
CREATE VIEW drops_v AS SELECT strftime('%Y-%m-%d %H:%M:%S', ts / 1000000000, 'unixepoch') || printf('.%06d', (ts / 1000) % 1000000) AS time, * FROM drops;

-- functions
-- tt_time(ns)  wall ns -> '2026-11-25 10:56:25.123456' (UTC), NULL for NULL
-- tt_iso(ns)   wall ns -> '2026-11-25T10:56:25.123456789Z'
