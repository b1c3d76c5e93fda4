-- tcptop-query --schema=clickhouse; docs/QUERY.md lists 9 changes
-- tcptop-query ClickHouse tables: load with tcptop-query --format jsonl (docs/SCALE.md)

CREATE TABLE capture (
	file String,
	host String,
	kernel String,
	boot_id String,
	start_ns Int64,
	end_ns Nullable(Int64),
	mode String,
	coalesce_ms Int64,
	filters String,
	probes String,
	tool_version String,
	format_version String,
	clock String,
	events Int64,
	warnings Int64,
	missing String,
	raw_slice_ns Int64,
	writing Int64
) ENGINE = MergeTree ORDER BY (host, start_ns, file);

CREATE TABLE connections (
	file String,
	host String,
	id Int64,
	proto Nullable(String),
	family Nullable(Int64),
	laddr Nullable(String),
	lport Nullable(Int64),
	raddr Nullable(String),
	rport Nullable(Int64),
	direction Nullable(String),
	pid Nullable(Int64),
	comm Nullable(String),
	cgroup Nullable(Int64),
	netns Nullable(Int64),
	first_ts Int64,
	last_ts Int64,
	close_ts Nullable(Int64),
	tx_bytes Int64,
	rx_bytes Int64,
	tx_packets Int64,
	rx_packets Int64,
	state Nullable(String),
	rtt_us Nullable(Int64),
	max_rtt_us Nullable(Int64),
	retransmits Int64,
	resets Int64,
	closed Int64,
	preexisting Int64,
	events Int64,
	community_id Nullable(String),
	retrans_rto Int64,
	retrans_fast Int64,
	retrans_tlp Int64,
	retrans_spurious Int64,
	connect_us Nullable(Int64),
	accept_wait_us Nullable(Int64),
	syn_retrans Nullable(Int64),
	fail_reason Nullable(String),
	zero_window_ms Nullable(Int64)
) ENGINE = MergeTree ORDER BY (host, first_ts, id);

CREATE TABLE events (
	file String,
	host String,
	ts Int64,
	kind String,
	conn_id Nullable(Int64),
	pid Nullable(Int64),
	tid Nullable(Int64),
	flags Int64,
	tx_bytes Nullable(Int64),
	rx_bytes Nullable(Int64),
	tx_packets Nullable(Int64),
	rx_packets Nullable(Int64),
	tx_calls Nullable(Int64),
	rx_calls Nullable(Int64),
	old_state Nullable(String),
	new_state Nullable(String),
	state Nullable(String),
	rtt_us Nullable(Int64),
	rttvar_us Nullable(Int64),
	retrans Nullable(Int64),
	reset_dir Nullable(String),
	proto Nullable(String),
	family Nullable(Int64),
	laddr Nullable(String),
	lport Nullable(Int64),
	raddr Nullable(String),
	rport Nullable(Int64),
	direction Nullable(String),
	netns Nullable(Int64),
	cgroup Nullable(Int64),
	comm Nullable(String),
	ppid Nullable(Int64),
	exit_code Nullable(Int64),
	lost Nullable(Int64),
	cpu Nullable(Int64),
	stat_events Nullable(Int64),
	stat_conns Nullable(Int64),
	stat_bytes Nullable(Int64),
	community_id Nullable(String),
	cause Nullable(String),
	spurious Nullable(Int64),
	accept_queue Nullable(Int64),
	accept_queue_max Nullable(Int64),
	listen_drops Nullable(Int64),
	reason Nullable(String),
	drop_code Nullable(Int64),
	fail_reason Nullable(String),
	connect_us Nullable(Int64),
	syn_retrans Nullable(Int64),
	accept_wait_us Nullable(Int64)
) ENGINE = MergeTree ORDER BY (host, ts);

CREATE TABLE processes (
	file String,
	host String,
	pid Int64,
	comm Nullable(String),
	ppid Nullable(Int64),
	first_ts Int64,
	last_ts Int64,
	exit_ts Nullable(Int64),
	exit_code Nullable(Int64),
	execs Int64,
	connections Int64
) ENGINE = MergeTree ORDER BY (host, first_ts, pid);

CREATE TABLE lost (
	file String,
	host String,
	ts Int64,
	cpu Int64,
	count Int64
) ENGINE = MergeTree ORDER BY (host, ts);

CREATE TABLE listeners (
	file String,
	host String,
	ts Int64,
	laddr Nullable(String),
	lport Int64,
	pid Nullable(Int64),
	comm Nullable(String),
	accept_queue Int64,
	accept_queue_max Int64,
	overflows Int64,
	syn_drops Nullable(Int64),
	family Int64,
	netns Int64
) ENGINE = MergeTree ORDER BY (host, ts, lport);

CREATE TABLE drops (
	file String,
	host String,
	ts Int64,
	conn_id Nullable(Int64),
	reason Nullable(String),
	code Int64
) ENGINE = MergeTree ORDER BY (host, ts);

CREATE TABLE samples (
	file String,
	host String,
	conn_id Int64,
	ts Int64,
	srtt_us Int64,
	min_rtt_us Int64,
	rttvar_us Int64,
	cwnd Int64,
	ssthresh Nullable(Int64),
	pacing_rate Nullable(Int64),
	delivery_rate Int64,
	app_limited Int64,
	in_flight Int64,
	lost Int64,
	reordering Int64,
	dsack_dups Int64,
	busy_us Int64,
	rwnd_limited_us Int64,
	sndbuf_limited_us Int64,
	snd_wnd Int64,
	rcv_wnd Int64
) ENGINE = MergeTree ORDER BY (host, ts);

CREATE TABLE stalls (
	file String,
	host String,
	conn_id Int64,
	side String,
	start_ns Int64,
	end_ns Nullable(Int64)
) ENGINE = MergeTree ORDER BY (host, start_ns);

