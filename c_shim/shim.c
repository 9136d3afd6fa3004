/*
 * shim.c
 *
 * Everything pg_fusion needs from C: PG_MODULE_MAGIC, the shared-memory hook chain, and thin
 * wrappers for macros and static inline functions that bindgen cannot bind. No logic lives here;
 * the rest is Rust (src/pg/ is the only Rust module that calls these).
 */
#include "pg_fusion_shim.h"

#include <signal.h>

#include "postmaster/interrupt.h"
#include "utils/syscache.h"
#include "catalog/pg_database.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "access/sysattr.h"
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_proc.h"
#include "storage/proc.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_statistic.h"
#include "utils/acl.h"

/*
 * PG_MODULE_MAGIC under another name: a Rust cdylib exports only Rust symbols, so src/pg/entry.rs
 * exports Pg_magic_func and returns what this function returns.
 */
#undef PG_MAGIC_FUNCTION_NAME
#define PG_MAGIC_FUNCTION_NAME pgf_module_magic
PG_MODULE_MAGIC;

/* ---- errors ---- */

ErrorData *
pgf_try(pgf_callback cb, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		cb(arg);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	return edata;
}

void
pgf_rethrow(ErrorData *edata)
{
	ReThrowError(edata);
}

void
pgf_ereport(int elevel, int sqlstate, const char *message, const char *detail, const char *hint)
{
	ereport(elevel,
			(errcode(sqlstate),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

int
pgf_error_sqlstate(const ErrorData *edata)
{
	return edata->sqlerrcode;
}

const char *
pgf_error_message(const ErrorData *edata)
{
	return edata->message;
}

/* ---- interrupts, latches, processes ---- */

void
pgf_check_for_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

bool
pgf_interrupt_pending(void)
{
	return InterruptPending;
}

int
pgf_my_procno(void)
{
#if PG_VERSION_NUM >= 170000
	return MyProc ? GetNumberFromPGProc(MyProc) : -1;
#else
	return MyProc ? MyProc->pgprocno : -1;
#endif
}

void
pgf_set_latch_of_procno(int procno)
{
	if (procno >= 0 && ProcGlobal && (uint32) procno < ProcGlobal->allProcCount)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

int
pgf_wait_my_latch(int wake_events, long timeout_ms, uint32 wait_event_info)
{
	return WaitLatch(MyLatch, wake_events, timeout_ms, wait_event_info);
}

void
pgf_reset_my_latch(void)
{
	ResetLatch(MyLatch);
}

void
pgf_set_my_latch(void)
{
	SetLatch(MyLatch);
}

static volatile sig_atomic_t shutdown_requested = false;

static void
pgf_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	shutdown_requested = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

void
pgf_worker_install_signals(void)
{
	pqsignal(SIGTERM, pgf_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
}

bool
pgf_shutdown_requested(void)
{
	return shutdown_requested;
}

/* ---- shared memory ---- */

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
pgf_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(pgf_rs_segment_size());
}

static void
pgf_shmem_startup(void)
{
	bool		found;
	void	   *base;
	Size		size;
	const char *err;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	size = pgf_rs_segment_size();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("pg_fusion", size, &found);
	err = pgf_rs_segment_attach(base, size, found);
	LWLockRelease(AddinShmemInitLock);
	if (err)
		ereport(FATAL,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("pg_fusion: cannot attach shared memory: %s", err)));
}

void
pgf_install_shmem_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgf_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgf_shmem_startup;
}

/* ---- set-returning functions ---- */

void
pgf_srf_init(FunctionCallInfo fcinfo)
{
	InitMaterializedSRF(fcinfo, 0);
}

void
pgf_srf_put(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* ---- the PgFusionScan custom scan ---- */

/* A PgFusionScan state node: PostgreSQL's CustomScanState plus the Rust state's address. */
typedef struct PgfScanState
{
	CustomScanState css;
	void	   *rs;
} PgfScanState;

static Node *pgf_create_scan_state(CustomScan *cscan);

static const CustomScanMethods pgf_scan_methods = {
	.CustomName = "PgFusionScan",
	.CreateCustomScanState = pgf_create_scan_state,
};

static TupleTableSlot *
pgf_access(ScanState *ss)
{
	return pgf_rs_next((CustomScanState *) ss);
}

static bool
pgf_recheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static void
pgf_begin(CustomScanState *node, EState *estate, int eflags)
{
	pgf_rs_begin_scan(node, estate, eflags);
}

/* ExecScan evaluates the node's qual and projection over the tuples pgf_rs_next returns. */
static TupleTableSlot *
pgf_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, pgf_access, pgf_recheck);
}

static void
pgf_end(CustomScanState *node)
{
	pgf_rs_end_scan(node);
}

static void
pgf_rescan(CustomScanState *node)
{
	pgf_rs_rescan(node);
}

static void
pgf_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	pgf_rs_explain(node, ancestors, es);
}

/* ExecShutdownNode: the end of the run, still in parallel mode (parallel producers stop here). */
static void
pgf_shutdown(CustomScanState *node)
{
	pgf_rs_shutdown_scan(node);
}

static const CustomExecMethods pgf_exec_methods = {
	.CustomName = "PgFusionScan",
	.BeginCustomScan = pgf_begin,
	.ExecCustomScan = pgf_exec,
	.EndCustomScan = pgf_end,
	.ReScanCustomScan = pgf_rescan,
	.ExplainCustomScan = pgf_explain,
	.ShutdownCustomScan = pgf_shutdown,
};

static Node *
pgf_create_scan_state(CustomScan *cscan)
{
	PgfScanState *s = (PgfScanState *) newNode(sizeof(PgfScanState), T_CustomScanState);

	s->css.methods = &pgf_exec_methods;
	s->rs = NULL;
	return (Node *) s;
}

const CustomScanMethods *
pgf_custom_scan_methods(void)
{
	return &pgf_scan_methods;
}

void
pgf_register_custom_scan(void)
{
	RegisterCustomScanMethods(&pgf_scan_methods);
}

void *
pgf_scan_state_get(CustomScanState *node)
{
	return ((PgfScanState *) node)->rs;
}

void
pgf_scan_state_set(CustomScanState *node, void *state)
{
	((PgfScanState *) node)->rs = state;
}

/* ---- static inlines and macros ---- */

void
pgf_slot_getallattrs(TupleTableSlot *slot)
{
	slot_getallattrs(slot);
}

void
pgf_slot_getsomeattrs(TupleTableSlot *slot, int attnum)
{
	slot_getsomeattrs(slot, attnum);
}

TupleTableSlot *
pgf_exec_clear_tuple(TupleTableSlot *slot)
{
	return ExecClearTuple(slot);
}

TupleTableSlot *
pgf_exec_copy_slot(TupleTableSlot *dst, TupleTableSlot *src)
{
	return ExecCopySlot(dst, src);
}

Node *
pgf_make_node(NodeTag tag, Size size)
{
	return newNode(size, tag);
}

int
pgf_list_length(const List *list)
{
	return list_length(list);
}

void *
pgf_list_nth(const List *list, int n)
{
	return list_nth(list, n);
}

Oid
pgf_list_nth_oid(const List *list, int n)
{
	return list_nth_oid(list, n);
}

int
pgf_list_nth_int(const List *list, int n)
{
	return list_nth_int(list, n);
}

List *
pgf_list_append(List *list, void *datum)
{
	return lappend(list, datum);
}

Node *
pgf_make_string(const char *s)
{
	return (Node *) makeString(pstrdup(s));
}

const char *
pgf_str_val(Node *node)
{
	return strVal(node);
}

Datum
pgf_numeric_in(const char *s)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
							   Int32GetDatum(-1));
}

struct varlena *
pgf_detoast_packed(Datum d)
{
	return pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
}

Size
pgf_varsize_any_exhdr(const struct varlena *v)
{
	return VARSIZE_ANY_EXHDR(v);
}

char *
pgf_vardata_any(struct varlena *v)
{
	return VARDATA_ANY(v);
}

bool
pgf_is_a(const Node *node, NodeTag tag)
{
	return node != NULL && nodeTag(node) == tag;
}

NodeTag
pgf_node_tag(const Node *node)
{
	return nodeTag(node);
}

int
pgf_database_encoding(void)
{
	return GetDatabaseEncoding();
}

char *
pgf_numeric_out(Datum d)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, d));
}

/*
 * The transition type of an aggregate call, as the planner resolves it before the executor runs
 * an Agg node (preprocess_aggrefs): pg_aggregate's aggtranstype, polymorphic types resolved from
 * the call's argument types; and the aggregate's combine function (InvalidOid: none) into
 * `combinefn` (GETSTRUCT is a macro).
 */
Oid
pgf_aggref_transtype(Aggref *aggref, Oid *combinefn)
{
	HeapTuple	tuple = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	Oid			declared;
	Oid			input_types[FUNC_MAX_ARGS];
	int			nargs;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for aggregate %u", aggref->aggfnoid);
	declared = ((Form_pg_aggregate) GETSTRUCT(tuple))->aggtranstype;
	*combinefn = ((Form_pg_aggregate) GETSTRUCT(tuple))->aggcombinefn;
	ReleaseSysCache(tuple);
	nargs = get_aggregate_argtypes(aggref, input_types);
	return resolve_aggregate_transtype(aggref->aggfnoid, declared, input_types, nargs);
}

/*
 * Whether user column `attnum` of table `relid` is declared NOT NULL in every row a scan of it
 * reads, its inheritance children's included (GETSTRUCT is a macro).
 */
bool
pgf_attnotnull(Oid relid, AttrNumber attnum)
{
	/*
	 * An inheritance parent's NOT NULL does not bind its children (15-17 let a child drop it, 18
	 * has NO INHERIT), and a scan of the parent reads them: as the planner (plancat.c), trust it
	 * only for plain tables and partitioned ones (whose partitions cannot drop it).
	 */
	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE && has_subclass(relid))
		return false;
#if PG_VERSION_NUM >= 180000
	/*
	 * 18: attnotnull is also set by a NOT VALID not-null constraint, under which the column can
	 * still hold NULLs; only a validated one counts, as the planner reads it (plancat.c). The
	 * analyzed query already holds its lock on the table.
	 */
	Relation	rel;
	bool		result = false;

	if (attnum <= 0)
		return false;
	rel = table_open(relid, NoLock);
	if (attnum <= RelationGetDescr(rel)->natts)
	{
		CompactAttribute *ca = TupleDescCompactAttr(RelationGetDescr(rel), attnum - 1);

		result = ca->attnullability == ATTNULLABLE_VALID && !ca->attisdropped;
	}
	table_close(rel, NoLock);
	return result;
#else
	HeapTuple	tp;
	bool		result = false;

	if (attnum <= 0)
		return false;
	tp = SearchSysCacheAttNum(relid, attnum);
	if (HeapTupleIsValid(tp))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tp);

		result = att->attnotnull && !att->attisdropped;
		ReleaseSysCache(tp);
	}
	return result;
#endif
}

/*
 * The one range-table index all Vars of an expression (of this query level) refer to: 0 when it
 * has none, -1 when it refers to several.
 */
int
pgf_expr_varno(Node *node)
{
#if PG_VERSION_NUM >= 160000
	/* 16+: pull_varnos also returns the outer joins that can null a Var; only relations count. */
	Relids		relids = pull_varnos(NULL, pgf_strip_nullingrels(node));
#else
	Relids		relids = pull_varnos(NULL, node);
#endif
	int			member;

	if (bms_is_empty(relids))
		return 0;
	if (bms_get_singleton_member(relids, &member))
		return member;
	return -1;
}

Bitmapset *
pgf_bms_add_member(Bitmapset *set, int member)
{
	return bms_add_member(set, member);
}

void
pgf_list_set_nth(List *list, int n, void *datum)
{
	lfirst(list_nth_cell(list, n)) = datum;
}

/* ---- parallel scan producers ---- */

#define PGF_PARALLEL_KEY UINT64CONST(0x70676673)

ParallelContext *
pgf_parallel_create(int nworkers, Size size, void **space)
{
	ParallelContext *pcxt = CreateParallelContext("pg_fusion", "pgf_parallel_scan_main", nworkers);

	shm_toc_estimate_chunk(&pcxt->estimator, size);
	shm_toc_estimate_keys(&pcxt->estimator, 1);
	InitializeParallelDSM(pcxt);
	if (pcxt->toc == NULL)
	{
		/* No DSM segment: no workers either (the leader reads alone). */
		*space = NULL;
		return pcxt;
	}
	*space = shm_toc_allocate(pcxt->toc, size);
	memset(*space, 0, size);
	shm_toc_insert(pcxt->toc, PGF_PARALLEL_KEY, *space);
	return pcxt;
}

int
pgf_parallel_launch(ParallelContext *pcxt)
{
	LaunchParallelWorkers(pcxt);
	return pcxt->nworkers_launched;
}

int
pgf_parallel_worker_state(ParallelContext *pcxt, int i)
{
	BgwHandleStatus status;
	pid_t		pid;

	if (i < 0 || i >= pcxt->nworkers_launched)
		return 0;
	/* Its error queue is gone once the leader processed its exit: it ran. */
	if (pcxt->worker[i].error_mqh == NULL)
		return 1;
	/* The status first: a worker seen stopped that had attached is seen attached below. */
	status = GetBackgroundWorkerPid(pcxt->worker[i].bgwhandle, &pid);
	if (shm_mq_get_sender(shm_mq_get_queue(pcxt->worker[i].error_mqh)) != NULL)
		return 1;
	return status == BGWH_STOPPED ? 2 : 0;
}

void
pgf_parallel_wait(ParallelContext *pcxt)
{
	WaitForParallelWorkersToFinish(pcxt);
}

void
pgf_parallel_destroy(ParallelContext *pcxt)
{
	DestroyParallelContext(pcxt);
}

/* ---- what parallel workers report to the leader ---- */

Size
pgf_usage_size(void)
{
	return MAXALIGN(sizeof(BufferUsage)) + MAXALIGN(sizeof(WalUsage));
}

void
pgf_usage_start(void)
{
	InstrStartParallelQuery();
}

void
pgf_usage_end(char *dst)
{
	InstrEndParallelQuery((BufferUsage *) dst, (WalUsage *) (dst + MAXALIGN(sizeof(BufferUsage))));
}

void
pgf_usage_add(char *src)
{
	InstrAccumParallelQuery((BufferUsage *) src, (WalUsage *) (src + MAXALIGN(sizeof(BufferUsage))));
}

Size
pgf_instr_size(void)
{
	return sizeof(Instrumentation);
}

typedef struct InstrCopy
{
	char	   *area;
	int			slots;
	bool		export;
} InstrCopy;

static bool
instr_copy_walker(PlanState *ps, void *arg)
{
	InstrCopy  *c = (InstrCopy *) arg;
	int			id = ps->plan->plan_node_id;

	if (ps->instrument != NULL && id >= 0 && id < c->slots)
	{
		Instrumentation *slot = (Instrumentation *) (c->area + (Size) id * sizeof(Instrumentation));

		if (c->export)
		{
			InstrEndLoop(ps->instrument);
			memcpy(slot, ps->instrument, sizeof(Instrumentation));
		}
		else if (slot->nloops > 0)
			InstrAggNode(ps->instrument, slot);
	}
#if PG_VERSION_NUM >= 160000
	return planstate_tree_walker(ps, instr_copy_walker, arg);
#else
	return planstate_tree_walker(ps, (bool (*) ()) instr_copy_walker, arg);
#endif
}

/* The largest plan_node_id in a plan tree, children of every kind included. */
static int
plan_max_node_id(Plan *plan)
{
	int			id;
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return -1;
	id = plan->plan_node_id;
	id = Max(id, plan_max_node_id(plan->lefttree));
	id = Max(id, plan_max_node_id(plan->righttree));
	switch (nodeTag(plan))
	{
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		case T_SubqueryScan:
			id = Max(id, plan_max_node_id(((SubqueryScan *) plan)->subplan));
			break;
		default:
			break;
	}
	foreach(lc, children)
		id = Max(id, plan_max_node_id((Plan *) lfirst(lc)));
	return id;
}

int
pgf_plan_nodes(PlannedStmt *stmt)
{
	int			id = plan_max_node_id(stmt->planTree);
	ListCell   *lc;

	foreach(lc, stmt->subplans)
		id = Max(id, plan_max_node_id((Plan *) lfirst(lc)));
	return id + 1;
}

void
pgf_instr_export(QueryDesc *qd, char *area, int slots)
{
	InstrCopy	c = {area, slots, true};

	if (qd != NULL && qd->planstate != NULL)
		instr_copy_walker(qd->planstate, &c);
}

void
pgf_instr_import(QueryDesc *qd, char *area, int slots)
{
	InstrCopy	c = {area, slots, false};

	if (qd != NULL && qd->planstate != NULL)
		instr_copy_walker(qd->planstate, &c);
}

void *
pgf_parallel_space(shm_toc *toc)
{
	return shm_toc_lookup(toc, PGF_PARALLEL_KEY, false);
}

Size
pgf_parallel_space_room(dsm_segment *seg, void *space)
{
	char	   *base = dsm_segment_address(seg);
	Size		len = dsm_segment_map_length(seg);

	if (base == NULL || (char *) space < base || (char *) space >= base + len)
		return 0;
	return (Size) (base + len - (char *) space);
}

int
pgf_parallel_worker_number(void)
{
	return ParallelWorkerNumber;
}

/* The heap scan of a SeqScanState, begun here if its first row has not been asked for yet (as
 * SeqNext would, but never synchronized with other scans: a range starts where it says); NULL
 * for a relation that is not a heap or a scan already under way (only before its first row or
 * after a rescan). */
static HeapScanDesc
seqscan_heap(PlanState *ps)
{
	SeqScanState *ss;
	Relation	rel;
	TableScanDesc scan;

	if (ps == NULL || !IsA(ps, SeqScanState))
		return NULL;
	ss = (SeqScanState *) ps;
	rel = ss->ss.ss_currentRelation;
	if (rel->rd_tableam != GetHeapamTableAmRoutine())
		return NULL;
	scan = ss->ss.ss_currentScanDesc;
	if (scan == NULL)
	{
		scan = table_beginscan_strat(rel, ps->state->es_snapshot, 0, NULL, true, false);
		ss->ss.ss_currentScanDesc = scan;
	}
	else if (((HeapScanDesc) scan)->rs_inited)
		return NULL;
	return (HeapScanDesc) scan;
}

/* Limit one heap scan to `nblocks` blocks from `start` (to its end when `to_end`). The scan
 * (never synchronized) recounts its blocks when it is rescanned. */
static void
heap_limit(HeapScanDesc scan, BlockNumber start, BlockNumber nblocks, bool to_end)
{
	BlockNumber total = scan->rs_nblocks;

	if (start >= total)
		heap_setscanlimits((TableScanDesc) scan, 0, 0);
	else
		heap_setscanlimits((TableScanDesc) scan, start, to_end ? total - start : Min(nblocks, total - start));
}

bool
pgf_seqscan_limit_blocks(PlanState *ps, BlockNumber start, BlockNumber nblocks, bool to_end)
{
	HeapScanDesc scan;

	/*
	 * A nested loop's outer side (a semi or anti join's, or a LATERAL group's inner or left
	 * join, whose inner side runs per outer row): each outer row is in one range.
	 */
	if (ps != NULL && IsA(ps, NestLoopState))
	{
		JoinType	jt = ((NestLoop *) ps->plan)->join.jointype;

		if (jt != JOIN_SEMI && jt != JOIN_ANTI && jt != JOIN_INNER && jt != JOIN_LEFT)
			return false;
		ps = outerPlanState(ps);
	}
	scan = seqscan_heap(ps);
	if (scan == NULL)
		return false;
	heap_limit(scan, start, nblocks, to_end);
	return true;
}

int
pgf_append_children(PlanState *ps)
{
	AppendState *as;

	if (ps == NULL || !IsA(ps, AppendState))
		return -1;
	as = (AppendState *) ps;
	for (int i = 0; i < as->as_nplans; i++)
		if (!IsA(as->appendplans[i], SeqScanState))
			return -1;
	return as->as_nplans;
}

BlockNumber
pgf_append_child_blocks(PlanState *ps, int child, bool *ok)
{
	AppendState *as = (AppendState *) ps;
	HeapScanDesc scan;

	*ok = false;
	if (ps == NULL || !IsA(ps, AppendState) || child < 0 || child >= as->as_nplans)
		return 0;
	scan = seqscan_heap(as->appendplans[child]);
	if (scan == NULL)
		return 0;
	*ok = true;
	return scan->rs_nblocks;
}

bool
pgf_append_limit_blocks(PlanState *ps, int child, BlockNumber start, BlockNumber nblocks, bool to_end)
{
	AppendState *as = (AppendState *) ps;
	HeapScanDesc *scans;

	if (ps == NULL || !IsA(ps, AppendState) || child < 0 || child >= as->as_nplans)
		return false;
	/* All or nothing: every child's scan is checked before any is limited. */
	scans = palloc(sizeof(HeapScanDesc) * as->as_nplans);
	for (int i = 0; i < as->as_nplans; i++)
	{
		scans[i] = seqscan_heap(as->appendplans[i]);
		if (scans[i] == NULL)
		{
			pfree(scans);
			return false;
		}
	}
	for (int i = 0; i < as->as_nplans; i++)
	{
		if (i == child)
			heap_limit(scans[i], start, nblocks, to_end);
		else
			heap_setscanlimits((TableScanDesc) scans[i], 0, 0);
	}
	pfree(scans);
	return true;
}

void
pgf_query_rescan(QueryDesc *qd)
{
	MemoryContext old = MemoryContextSwitchTo(qd->estate->es_query_cxt);

	ExecReScan(qd->planstate);
	MemoryContextSwitchTo(old);
}

/* The blocks of the relation a SeqScan plan node reads; *ok false when workers may not read it
 * (not a permanent or unlogged heap table). */
static BlockNumber
seqscan_plan_blocks(PlannedStmt *stmt, Plan *plan, bool *ok)
{
	Relation	rel;
	BlockNumber n = 0;

	if (plan == NULL || !IsA(plan, SeqScan))
	{
		*ok = false;
		return 0;
	}
	rel = table_open(rt_fetch(((SeqScan *) plan)->scan.scanrelid, stmt->rtable)->relid, AccessShareLock);
	if (rel->rd_rel->relkind == RELKIND_RELATION &&
		rel->rd_rel->relpersistence != RELPERSISTENCE_TEMP &&
		rel->rd_tableam == GetHeapamTableAmRoutine())
		n = RelationGetNumberOfBlocks(rel);
	else
		*ok = false;
	table_close(rel, AccessShareLock);
	return n;
}

BlockNumber
pgf_plan_blocks(PlannedStmt *stmt, bool *parallel_ok)
{
	Plan	   *top = stmt->planTree;
	BlockNumber n = 0;
	ListCell   *lc;

	*parallel_ok = true;
	if (top != NULL && IsA(top, NestLoop))
		return seqscan_plan_blocks(stmt, outerPlan(top), parallel_ok);
	if (top == NULL || !IsA(top, Append))
		return seqscan_plan_blocks(stmt, top, parallel_ok);
	foreach(lc, ((Append *) top)->appendplans)
	{
		BlockNumber b = seqscan_plan_blocks(stmt, (Plan *) lfirst(lc), parallel_ok);

		n = (b > MaxBlockNumber - n) ? MaxBlockNumber : n + b;
	}
	return n;
}

int
pgf_primary_key_attnos(Oid relid, int16 *out, int max)
{
	Oid			constraint;
	Bitmapset  *pk;
	int			n = 0;
	int			x = -1;

	/*
	 * A table with inheritance children: their rows may repeat the parent's key (a partitioned
	 * table's key holds across its partitions).
	 */
	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE && has_subclass(relid))
		return 0;
	pk = get_primary_key_attnos(relid, false, &constraint);
	if (bms_num_members(pk) > max)
		return -1;
	while ((x = bms_next_member(pk, x)) >= 0)
		out[n++] = (int16) (x + FirstLowInvalidHeapAttributeNumber);
	return n;
}

bool
pgf_column_statistics(Oid relid, AttrNumber attnum, bool inh, float4 *stadistinct, float4 *stanullfrac,
					  float4 *reltuples)
{
	HeapTuple	tp;

	/* pg_class.reltuples: ANALYZE's count (a partitioned table's too), -1 before any. */
	*reltuples = -1;
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (HeapTupleIsValid(tp))
	{
		*reltuples = ((Form_pg_class) GETSTRUCT(tp))->reltuples;
		ReleaseSysCache(tp);
	}
	/*
	 * An analyzed entry asks for inheritance children even where there are none; the planner
	 * then reads the table's own statistics (subquery_planner clears inh).
	 */
	if (inh && get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE && !has_subclass(relid))
		inh = false;
	tp = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid), Int16GetDatum(attnum), BoolGetDatum(inh));
	if (!HeapTupleIsValid(tp))
		return false;
	*stadistinct = ((Form_pg_statistic) GETSTRUCT(tp))->stadistinct;
	*stanullfrac = ((Form_pg_statistic) GETSTRUCT(tp))->stanullfrac;
	ReleaseSysCache(tp);
	return true;
}

bool
pgf_column_correlation(Oid relid, AttrNumber attnum, bool inh, float4 *correlation)
{
	HeapTuple	tp;
	AttStatsSlot sslot;
	bool		found = false;

	/* As in pgf_column_statistics: a table without children has only its own statistics. */
	if (inh && get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE && !has_subclass(relid))
		inh = false;
	tp = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid), Int16GetDatum(attnum), BoolGetDatum(inh));
	if (!HeapTupleIsValid(tp))
		return false;
	if (get_attstatsslot(&sslot, tp, STATISTIC_KIND_CORRELATION, InvalidOid, ATTSTATSSLOT_NUMBERS))
	{
		if (sslot.nnumbers == 1)
		{
			*correlation = sslot.numbers[0];
			found = true;
		}
		free_attstatsslot(&sslot);
	}
	ReleaseSysCache(tp);
	return found;
}

double
pgf_relation_rows(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	double		tuples = -1;

	/* A table with inheritance children: the leaf may read them too (no estimate here). */
	if (RELKIND_HAS_TABLE_AM(rel->rd_rel->relkind) && !rel->rd_rel->relhassubclass)
	{
		BlockNumber pages;
		double		allvisfrac;
		/* Indexed by attribute number, as the planner's (it may fill in widths it computes). */
		int32	   *widths = palloc0((RelationGetNumberOfAttributes(rel) + 1) * sizeof(int32));

		estimate_rel_size(rel, widths, &pages, &tuples, &allvisfrac);
		pfree(widths);
		/*
		 * Never more than its blocks can hold: the planner assumes 10 pages of a table never
		 * vacuumed, which a small table's own size bounds.
		 */
		tuples = Min(tuples, (double) RelationGetNumberOfBlocks(rel) * MaxHeapTuplesPerPage);
	}
	table_close(rel, AccessShareLock);
	return tuples;
}

BlockNumber
pgf_relation_blocks(Oid relid, bool *parallel_ok)
{
	Relation	rel = table_open(relid, AccessShareLock);
	BlockNumber n = RelationGetNumberOfBlocks(rel);

	*parallel_ok = rel->rd_rel->relkind == RELKIND_RELATION &&
		rel->rd_rel->relpersistence != RELPERSISTENCE_TEMP;
	table_close(rel, AccessShareLock);
	return n;
}

Size
pgf_params_size(ParamListInfo params)
{
	return EstimateParamListSpace(params);
}

void
pgf_params_serialize(ParamListInfo params, char *dst)
{
	SerializeParamList(params, &dst);
}

ParamListInfo
pgf_params_restore(char *src)
{
	return RestoreParamList(&src);
}

char
pgf_max_parallel_hazard(Query *parse)
{
	return max_parallel_hazard(parse);
}

int
pgf_max_parallel_workers_per_gather(void)
{
	return max_parallel_workers_per_gather;
}

int
pgf_deadlock_timeout(void)
{
	return DeadlockTimeout;
}

int
pgf_min_parallel_table_scan_size(void)
{
	return min_parallel_table_scan_size;
}

bool
pgf_estate_parallel_mode(EState *estate)
{
	return estate->es_use_parallel_mode;
}

/* ---- function privileges ---- */

typedef struct CollectFunctions
{
	List	   *functions;
	List	   *aggregates;
} CollectFunctions;

static bool
collect_function(Oid funcid, void *context)
{
	CollectFunctions *c = (CollectFunctions *) context;

	c->functions = list_append_unique_oid(c->functions, funcid);
	return false;
}

static bool
collect_functions_walker(Node *node, void *context)
{
	CollectFunctions *c = (CollectFunctions *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return pgf_query_tree_walker((Query *) node, collect_functions_walker, context, 0);
	/* The executor names an Aggref's function an aggregate when it refuses it. */
	if (IsA(node, Aggref))
		c->aggregates = list_append_unique_oid(c->aggregates, ((Aggref *) node)->aggfnoid);
	else
		/* Sets an operator node's opfuncid when the parser left it unset, as the planner does. */
		(void) check_functions_in_node(node, collect_function, context);
	return pgf_expression_tree_walker(node, collect_functions_walker, context);
}

List *
pgf_query_functions(Query *query, List **aggregates)
{
	CollectFunctions c = {NIL, NIL};

	(void) pgf_query_tree_walker(query, collect_functions_walker, &c, 0);
	*aggregates = c.aggregates;
	return c.functions;
}

void
pgf_check_function_execute(Oid funcid, bool aggregate)
{
	AclResult	result;

#if PG_VERSION_NUM >= 160000
	result = object_aclcheck(ProcedureRelationId, funcid, GetUserId(), ACL_EXECUTE);
#else
	result = pg_proc_aclcheck(funcid, GetUserId(), ACL_EXECUTE);
#endif
	if (result != ACLCHECK_OK)
		aclcheck_error(result, aggregate ? OBJECT_AGGREGATE : OBJECT_FUNCTION, get_func_name(funcid));
}

/* ---- what differs between PostgreSQL versions ---- */

uint32
pgf_wait_event(const char *name)
{
#if PG_VERSION_NUM >= 170000
	return WaitEventExtensionNew(name);
#else
	return PG_WAIT_EXTENSION;
#endif
}

bool
pgf_expression_tree_walker(Node *node, pgf_walker walker, void *context)
{
#if PG_VERSION_NUM >= 160000
	return expression_tree_walker(node, walker, context);
#else
	return expression_tree_walker(node, (bool (*) ()) walker, context);
#endif
}

Node *
pgf_expression_tree_mutator(Node *node, pgf_mutator mutator, void *context)
{
#if PG_VERSION_NUM >= 160000
	return expression_tree_mutator(node, mutator, context);
#else
	return expression_tree_mutator(node, (Node *(*) ()) mutator, context);
#endif
}

bool
pgf_query_tree_walker(Query *query, pgf_walker walker, void *context, int flags)
{
#if PG_VERSION_NUM >= 160000
	return query_tree_walker(query, walker, context, flags);
#else
	return query_tree_walker(query, (bool (*) ()) walker, context, flags);
#endif
}

Node *
pgf_flatten_join_alias_vars(Query *query, Node *node)
{
#if PG_VERSION_NUM >= 160000
	return flatten_join_alias_vars(NULL, query, node);
#else
	return flatten_join_alias_vars(query, node);
#endif
}

Node *
pgf_replace_vars_from_target_list(Node *node, int target_varno, int sublevels_up,
								  RangeTblEntry *target_rte, List *targetlist,
								  ReplaceVarsNoMatchOption nomatch_option, int nomatch_varno,
								  bool *outer_hasSubLinks)
{
#if PG_VERSION_NUM >= 180000
	return ReplaceVarsFromTargetList(node, target_varno, sublevels_up, target_rte, targetlist, 0,
									 nomatch_option, nomatch_varno, outer_hasSubLinks);
#else
	return ReplaceVarsFromTargetList(node, target_varno, sublevels_up, target_rte, targetlist,
									 nomatch_option, nomatch_varno, outer_hasSubLinks);
#endif
}

Oid
pgf_tupdesc_atttypid(TupleDesc desc, int i)
{
	return TupleDescAttr(desc, i)->atttypid;
}

/*
 * Is the libc locale `name` glibc's C.UTF-8, whose LC_COLLATE (glibc 2.35 and later) is strict
 * code point order, as strcmp over UTF-8 is? Older glibc releases and other C libraries are not
 * trusted.
 */
static bool
libc_locale_is_codepoint(const char *name)
{
#ifdef __GLIBC__
	static int	trusted = -1;

	if (trusted < 0)
	{
		int			major = 0,
					minor = 0;

		trusted = sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) == 2
			&& (major > 2 || (major == 2 && minor >= 35));
	}
	return trusted && name != NULL
		&& (pg_strcasecmp(name, "C.UTF-8") == 0 || pg_strcasecmp(name, "C.UTF8") == 0);
#else
	return false;
#endif
}

/*
 * Does a collation (the database's for the default one) collate by code point: libc's C.UTF-8,
 * or (17 and later) any locale of the builtin provider?
 */
static bool
collation_is_codepoint(Oid collation)
{
	HeapTuple	tup;
	Datum		d;
	bool		isnull;
	char		provider;
	bool		result = false;

	if (collation == DEFAULT_COLLATION_OID)
	{
		tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for database %u", MyDatabaseId);
		provider = ((Form_pg_database) GETSTRUCT(tup))->datlocprovider;
		d = SysCacheGetAttr(DATABASEOID, tup, Anum_pg_database_datcollate, &isnull);
		if (provider == COLLPROVIDER_LIBC && !isnull)
			result = libc_locale_is_codepoint(TextDatumGetCString(d));
#if PG_VERSION_NUM >= 170000
		/* The builtin provider's every locale collates by code point. */
		result = result || provider == COLLPROVIDER_BUILTIN;
#endif
	}
	else
	{
		tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for collation %u", collation);
		provider = ((Form_pg_collation) GETSTRUCT(tup))->collprovider;
		d = SysCacheGetAttr(COLLOID, tup, Anum_pg_collation_collcollate, &isnull);
		if (provider == COLLPROVIDER_LIBC && !isnull)
			result = libc_locale_is_codepoint(TextDatumGetCString(d));
#if PG_VERSION_NUM >= 170000
		result = result || provider == COLLPROVIDER_BUILTIN;
#endif
	}
	ReleaseSysCache(tup);
	return result;
}

bool
pgf_collation_is_c(Oid collation)
{
	/* No collation (a non-collatable expression): PostgreSQL would not sort text by it. */
	if (!OidIsValid(collation))
		return false;
	if (collation == C_COLLATION_OID)
		return true;
#if PG_VERSION_NUM >= 180000
	return pg_newlocale_from_collation(collation)->collate_is_c;
#else
	return lc_collate_is_c(collation);
#endif
}

bool
pgf_collation_sorts_bytes(Oid collation)
{
	if (!OidIsValid(collation))
		return false;
	return pgf_collation_is_c(collation) || collation_is_codepoint(collation);
}

void
pgf_explain_one_plan(PlannedStmt *stmt, ExplainState *es, const char *query_string,
					 ParamListInfo params)
{
#if PG_VERSION_NUM >= 170000
	ExplainOnePlan(stmt, NULL, es, query_string, params, NULL, NULL, NULL, NULL);
#else
	ExplainOnePlan(stmt, NULL, es, query_string, params, NULL, NULL, NULL);
#endif
}

void
pgf_standard_explain_one_query(Query *query, int cursor_options, IntoClause *into,
							   ExplainState *es, const char *query_string,
							   ParamListInfo params, QueryEnvironment *query_env)
{
#if PG_VERSION_NUM >= 170000
	standard_ExplainOneQuery(query, cursor_options, into, es, query_string, params, query_env);
#else
	PlannedStmt *plan;
	instr_time	started;
	instr_time	planning;
	BufferUsage before;
	BufferUsage used;

	if (es->buffers)
		before = pgBufferUsage;
	INSTR_TIME_SET_CURRENT(started);
	plan = pg_plan_query(query, query_string, cursor_options, params);
	INSTR_TIME_SET_CURRENT(planning);
	INSTR_TIME_SUBTRACT(planning, started);
	if (es->buffers)
	{
		memset(&used, 0, sizeof(used));
		BufferUsageAccumDiff(&used, &pgBufferUsage, &before);
	}
	ExplainOnePlan(plan, into, es, query_string, params, query_env, &planning,
				   es->buffers ? &used : NULL);
#endif
}

void
pgf_executor_run(QueryDesc *qd, uint64 count)
{
#if PG_VERSION_NUM >= 180000
	ExecutorRun(qd, ForwardScanDirection, count);
#else
	ExecutorRun(qd, ForwardScanDirection, count, false);
#endif
}

void
pgf_rte_permission(Query *query, RangeTblEntry *rte, Oid *check_as_user, uint64 *required_perms)
{
#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *pi;

	if (rte->perminfoindex == 0)
	{
		*check_as_user = InvalidOid;
		*required_perms = 0;
		return;
	}
	pi = getRTEPermissionInfo(query->rteperminfos, rte);
	*check_as_user = pi->checkAsUser;
	*required_perms = pi->requiredPerms;
#else
	*check_as_user = rte->checkAsUser;
	*required_perms = rte->requiredPerms;
#endif
}

Node *
pgf_rte_perminfo_copy(Query *query, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return NULL;
	return (Node *) copyObject(getRTEPermissionInfo(query->rteperminfos, rte));
#else
	return NULL;
#endif
}

void
pgf_leaf_set_perminfo(Query *leaf, RangeTblEntry *rte, Node *perminfo)
{
#if PG_VERSION_NUM >= 160000
	/* A function or VALUES list has no permission info (nothing to check, perminfoindex 0). */
	if (perminfo == NULL && rte->rtekind != RTE_RELATION)
		return;
	/* The parser gives every relation entry its permission info: a leaf without one is a bug. */
	if (perminfo == NULL)
		elog(ERROR, "pg_fusion: scan leaf on relation %u without permission info", rte->relid);
	Assert(IsA(perminfo, RTEPermissionInfo));
	leaf->rteperminfos = list_make1(perminfo);
	rte->perminfoindex = 1;
#endif
}

void
pgf_append_rtable(Query *dst, Query *src)
{
#if PG_VERSION_NUM >= 160000
	CombineRangeTables(&dst->rtable, &dst->rteperminfos, src->rtable, src->rteperminfos);
#else
	dst->rtable = list_concat(dst->rtable, src->rtable);
#endif
}

void
pgf_flat_perminfo(List **perminfos, List *src_perminfos, RangeTblEntry *src, RangeTblEntry *newrte)
{
#if PG_VERSION_NUM >= 160000
	/* As setrefs.c's add_rte_to_flat_rtable: the copy's permission info joins the flat list. */
	if (src->perminfoindex > 0)
	{
		RTEPermissionInfo *pi = getRTEPermissionInfo(src_perminfos, src);
		RTEPermissionInfo *added;

		newrte->perminfoindex = 0;
		added = addRTEPermissionInfo(perminfos, newrte);
		memcpy(added, pi, sizeof(RTEPermissionInfo));
	}
	else
		newrte->perminfoindex = 0;
#endif
}

List *
pgf_query_perminfos(Query *query)
{
#if PG_VERSION_NUM >= 160000
	return query->rteperminfos;
#else
	return NIL;
#endif
}

void
pgf_stmt_finish(PlannedStmt *stmt, List *perminfos)
{
#if PG_VERSION_NUM >= 160000
	stmt->permInfos = perminfos;
#endif
#if PG_VERSION_NUM >= 180000
	/* Nothing of the outer statement is pruned (its scan is not a relation's). */
	stmt->unprunableRelids = bms_add_range(NULL, 1, list_length(stmt->rtable));
#endif
}

Node *
pgf_strip_nullingrels(Node *node)
{
#if PG_VERSION_NUM >= 160000
	Relids		all;

	if (node == NULL)
		return NULL;
	all = IsA(node, Query)
		? bms_add_range(NULL, 1, list_length(((Query *) node)->rtable))
		: pull_varnos(NULL, node);
	return bms_is_empty(all) ? node : remove_nulling_relids(node, all, NULL);
#else
	return node;
#endif
}

void
pgf_query_copy_perminfos(Query *dst, Query *src)
{
#if PG_VERSION_NUM >= 160000
	dst->rteperminfos = copyObject(src->rteperminfos);
#endif
}

void
pgf_var_set_nullingrels(Var *var, const int *relids, int n)
{
#if PG_VERSION_NUM >= 160000
	Relids		set = NULL;

	for (int i = 0; i < n; i++)
		set = bms_add_member(set, relids[i]);
	var->varnullingrels = set;
#endif
}

void
pgf_flatten_group_exprs(Query *query)
{
#if PG_VERSION_NUM >= 180000
	if (query->hasGroupRTE)
	{
		query->targetList = (List *) flatten_group_exprs(NULL, query, (Node *) query->targetList);
		query->havingQual = flatten_group_exprs(NULL, query, query->havingQual);
	}
#endif
}
