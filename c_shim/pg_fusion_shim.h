/*
 * pg_fusion_shim.h
 *
 * The one header bindgen reads (see build.rs for the allowlist). It pulls in the PostgreSQL server
 * headers pg_fusion binds and declares the C shim's functions: thin wrappers for macros and static
 * inline functions, and the PG_TRY trampoline that turns an ERROR into a value Rust can return.
 */
#ifndef PG_FUSION_SHIM_H
#define PG_FUSION_SHIM_H

#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

/* The query path: planner hook, custom scan, the scan producer's executor, values. */
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "storage/bufmgr.h"
#include "storage/dsm.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "optimizer/paths.h"
#include "optimizer/cost.h"
#include "utils/rel.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type_d.h"
#include "catalog/pg_collation_d.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "executor/executor.h"
#include "executor/instrument.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "optimizer/plancat.h"
#include "parser/parse_agg.h"
#include "parser/parse_oper.h"
#include "parser/parsetree.h"
#include "parser/parse_relation.h"
#include "rewrite/rewriteManip.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/typcache.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/pg_locale.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* PostgreSQL 18 renamed the attribute (pg_noreturn, placed before the declaration). */
#if PG_VERSION_NUM >= 180000
#define PGF_NORETURN_PRE pg_noreturn
#define PGF_NORETURN_POST
#else
#define PGF_NORETURN_PRE
#define PGF_NORETURN_POST pg_attribute_noreturn()
#endif

/* PG_MODULE_MAGIC's data, re-exported by Rust as Pg_magic_func. */
extern const Pg_magic_struct *pgf_module_magic(void);

/* ---- errors ---- */

/*
 * Run cb(arg) under PG_TRY. Returns NULL when it returned normally. When it raised an ERROR,
 * returns a copy of the ErrorData (allocated in the caller's memory context) after the error state
 * has been flushed; the caller must eventually re-raise it with pgf_rethrow or report it.
 */
typedef void (*pgf_callback) (void *arg);
extern ErrorData *pgf_try(pgf_callback cb, void *arg);

/* Re-raise an ErrorData obtained from pgf_try. Does not return. */
PGF_NORETURN_PRE extern void pgf_rethrow(ErrorData *edata) PGF_NORETURN_POST;

/*
 * ereport(elevel, errcode(sqlstate), errmsg, errdetail, errhint). detail and hint may be NULL.
 * For elevel >= ERROR this does not return: call it only from a frame that owns nothing.
 */
extern void pgf_ereport(int elevel, int sqlstate, const char *message, const char *detail,
						const char *hint);

/* Fields of an ErrorData, read by Rust without binding the struct layout. */
extern int	pgf_error_sqlstate(const ErrorData *edata);
extern const char *pgf_error_message(const ErrorData *edata);

/* ---- interrupts, latches, processes ---- */

extern void pgf_check_for_interrupts(void);
extern bool pgf_interrupt_pending(void);
extern int	pgf_my_procno(void);
extern void pgf_set_latch_of_procno(int procno);
extern int	pgf_wait_my_latch(int wake_events, long timeout_ms, uint32 wait_event_info);
/* The wait_event_info of a custom wait event named `name` under type Extension (17+; registered
 * in shared memory on first use), or PG_WAIT_EXTENSION itself before 17. */
extern uint32 pgf_wait_event(const char *name);
extern void pgf_reset_my_latch(void);
extern void pgf_set_my_latch(void);

/* Install SIGTERM (sets the flag read by pgf_shutdown_requested and the latch) and SIGHUP. */
extern void pgf_worker_install_signals(void);
extern bool pgf_shutdown_requested(void);

/* ---- shared memory ---- */

/* Provided by Rust: the segment size, and attaching (initialising when !found). Rust returns NULL
 * on success, else a static message that the shim reports as FATAL. */
extern Size pgf_rs_segment_size(void);
extern const char *pgf_rs_segment_attach(void *base, Size size, bool found);

/* Chain pg_fusion's shmem_request_hook and shmem_startup_hook. Only from _PG_init. */
extern void pgf_install_shmem_hooks(void);

/* ---- set-returning functions ---- */

/* InitMaterializedSRF and the tuplestore/tupdesc it set up, without binding ReturnSetInfo. */
extern void pgf_srf_init(FunctionCallInfo fcinfo);
extern void pgf_srf_put(FunctionCallInfo fcinfo, Datum *values, bool *nulls);

/* ---- the PgFusionScan custom scan ---- */

/* The plan node's methods (registered by pgf_register_custom_scan, from _PG_init). */
extern const CustomScanMethods *pgf_custom_scan_methods(void);
extern void pgf_register_custom_scan(void);
/* The Rust state hanging off a PgFusionScan state node. */
extern void *pgf_scan_state_get(CustomScanState *node);
extern void pgf_scan_state_set(CustomScanState *node, void *state);

/* Provided by Rust: the executor callbacks. */
extern void pgf_rs_begin_scan(CustomScanState *node, EState *estate, int eflags);
extern TupleTableSlot *pgf_rs_next(CustomScanState *node);
extern void pgf_rs_end_scan(CustomScanState *node);
extern void pgf_rs_rescan(CustomScanState *node);
extern void pgf_rs_explain(CustomScanState *node, List *ancestors, ExplainState *es);
extern void pgf_rs_shutdown_scan(CustomScanState *node);

/* ---- parallel scan producers ---- */

/*
 * Under parallel mode: a ParallelContext for `nworkers` workers running pgf_parallel_scan_main,
 * with `size` bytes of shared space (returned in *space) in its DSM segment. Then launch them;
 * returns how many started.
 */
extern ParallelContext *pgf_parallel_create(int nworkers, Size size, void **space);
extern int	pgf_parallel_launch(ParallelContext *pcxt);
/* Launched worker `i`: 0 not known yet, 1 it started (attached to its error queue), 2 it stopped
 * without ever starting (the postmaster could not start it: its slots are the leader's to end). */
extern int	pgf_parallel_worker_state(ParallelContext *pcxt, int i);
/* Wait for the workers to finish (re-raising their errors); destroy the context. */
extern void pgf_parallel_wait(ParallelContext *pcxt);
extern void pgf_parallel_destroy(ParallelContext *pcxt);
/*
 * What a worker reports to its leader. Usage: its BufferUsage and WalUsage (pgf_usage_size
 * bytes), started and ended in the worker, added to the leader's own (pg_stat_statements and
 * EXPLAIN count the workers' buffers). Instrumentation: each plan node's, by plan_node_id into an
 * area of `slots` Instrumentation structs; the leader adds a worker's into its own nodes.
 */
extern Size pgf_usage_size(void);
extern void pgf_usage_start(void);
extern void pgf_usage_end(char *dst);
extern void pgf_usage_add(char *src);
extern Size pgf_instr_size(void);
extern void pgf_instr_export(QueryDesc *qd, char *area, int slots);
extern void pgf_instr_import(QueryDesc *qd, char *area, int slots);
/* The parallel worker's entry point, pgf_parallel_scan_main(seg, toc), is Rust's (a cdylib exports
 * only Rust symbols); it finds its shared space and number with these. */
extern void *pgf_parallel_space(shm_toc *toc);
/* Bytes of `seg` mapped from `space` on (0 when `space` is not inside it). */
extern Size pgf_parallel_space_room(dsm_segment *seg, void *space);
extern int	pgf_parallel_worker_number(void);
/* The number of blocks of a relation's main fork and whether workers may read it (a permanent or
 * unlogged heap table, not another session's temporary one). */
extern BlockNumber pgf_relation_blocks(Oid relid, bool *parallel_ok);
/* PostgreSQL's estimate of a table's rows (estimate_rel_size, as the planner's; at most what its
 * blocks can hold), -1 for a relation without table storage (a partitioned table, a view) or with
 * inheritance children. */
extern double pgf_relation_rows(Oid relid);
/* pg_statistic's stadistinct and stanullfrac of column `attnum` of `relid` (`inh`: over its
 * inheritance children too), as the planner reads them (examine_variable): false without
 * statistics; and, with or without them, pg_class.reltuples (-1 before any ANALYZE) (GETSTRUCT
 * is a macro). */
extern bool pgf_column_statistics(Oid relid, AttrNumber attnum, bool inh, float4 *stadistinct,
								  float4 *stanullfrac, float4 *reltuples);
/* The correlation ANALYZE measured between column `attnum` of `relid` and the table's physical
 * order (pg_statistic's STATISTIC_KIND_CORRELATION slot, as btcostestimate reads it; `inh` as
 * above): false without one. */
extern bool pgf_column_correlation(Oid relid, AttrNumber attnum, bool inh, float4 *correlation);
/* The columns of relation `relid`'s primary key (not deferrable) into `out` (at most `max`): their
 * number, 0 without one (or when inheritance children may repeat its values), -1 when more than
 * `max`. */
extern int	pgf_primary_key_attnos(Oid relid, int16 *out, int max);
/* The heap blocks a leaf plan split by block ranges reads (see leaf.rs `splittable`): its top
 * SeqScan's relation, the outer SeqScan's of a top nested loop, or the sum over a top Append's
 * SeqScan children; *parallel_ok false when one of them is not a permanent or unlogged heap. */
extern BlockNumber pgf_plan_blocks(PlannedStmt *stmt, bool *parallel_ok);
/* The plan nodes of a PlannedStmt (one more than its largest plan_node_id): the
 * instrumentation slots a parallel worker reports for it under EXPLAIN ANALYZE. */
extern int	pgf_plan_nodes(PlannedStmt *stmt);
/* Serialized ParamListInfo: bytes needed, write, restore (NULL params: 0 bytes / NULL). */
extern Size pgf_params_size(ParamListInfo params);
extern void pgf_params_serialize(ParamListInfo params, char *dst);
extern ParamListInfo pgf_params_restore(char *src);
extern char pgf_max_parallel_hazard(Query *parse);
extern int	pgf_max_parallel_workers_per_gather(void);
/* deadlock_timeout in milliseconds (how long a lock waits before it checks for a deadlock). */
extern int	pgf_deadlock_timeout(void);
extern int	pgf_min_parallel_table_scan_size(void);
extern bool pgf_estate_parallel_mode(EState *estate);
/*
 * Limit the heap scan a started leaf plan drives to `nblocks` blocks from `start` (to the
 * relation's end when `to_end`), before its first row or after pgf_query_rescan: the top SeqScan,
 * or the outer SeqScan of a top nested-loop semi or anti join. Returns false, changing nothing,
 * for any other shape.
 */
extern bool pgf_seqscan_limit_blocks(PlanState *ps, BlockNumber start, BlockNumber nblocks, bool to_end);
/*
 * A started leaf plan whose top is an Append (partitions, inheritance children; those run-time
 * pruning left): the number of its children when every one is a SeqScan, else -1. Child
 * `child`'s blocks as its heap scan counted them (*ok false: not a heap scan before its first
 * row). Limit child `child`'s scan as pgf_seqscan_limit_blocks does and every other child's to
 * no block (false, changing nothing, when one is not a heap scan before its first row).
 */
extern int	pgf_append_children(PlanState *ps);
extern BlockNumber pgf_append_child_blocks(PlanState *ps, int child, bool *ok);
extern bool pgf_append_limit_blocks(PlanState *ps, int child, BlockNumber start, BlockNumber nblocks, bool to_end);
/* ExecReScan of a started query's plan, in its query memory context (the next block range). */
extern void pgf_query_rescan(QueryDesc *qd);

/* ---- static inlines and macros ---- */

extern void pgf_slot_getallattrs(TupleTableSlot *slot);
extern void pgf_slot_getsomeattrs(TupleTableSlot *slot, int attnum);
extern TupleTableSlot *pgf_exec_clear_tuple(TupleTableSlot *slot);
extern TupleTableSlot *pgf_exec_copy_slot(TupleTableSlot *dst, TupleTableSlot *src);
extern Node *pgf_make_node(NodeTag tag, Size size);
extern int	pgf_list_length(const List *list);
extern void *pgf_list_nth(const List *list, int n);
extern List *pgf_list_append(List *list, void *datum);
extern Oid	pgf_list_nth_oid(const List *list, int n);
extern int	pgf_list_nth_int(const List *list, int n);
extern Node *pgf_make_string(const char *s);
extern const char *pgf_str_val(Node *node);
extern Datum pgf_numeric_in(const char *s);
extern struct varlena *pgf_detoast_packed(Datum d);
extern Size pgf_varsize_any_exhdr(const struct varlena *v);
extern char *pgf_vardata_any(struct varlena *v);
extern bool pgf_is_a(const Node *node, NodeTag tag);
extern NodeTag pgf_node_tag(const Node *node);
extern int	pgf_database_encoding(void);
extern char *pgf_numeric_out(Datum d);
extern int	pgf_expr_varno(Node *node);
extern bool pgf_attnotnull(Oid relid, AttrNumber attnum);
extern Oid	pgf_aggref_transtype(Aggref *aggref, Oid *combinefn);
extern void pgf_list_set_nth(List *list, int n, void *datum);
extern Bitmapset *pgf_bms_add_member(Bitmapset *set, int member);


/* ---- function privileges ---- */

/* Every function the query's expressions call, at any level (FuncExpr, operators, window
 * functions, ... as check_functions_in_node sees them), each once, as an OID List; the
 * aggregates of its Aggrefs in *aggregates. */
extern List *pgf_query_functions(Query *query, List **aggregates);
/* ERROR 42501 (permission denied for function ..., or aggregate ...) unless the current user
 * may EXECUTE it, as the executor checks when it initialises an expression calling it. */
extern void pgf_check_function_execute(Oid funcid, bool aggregate);

/* ---- what differs between PostgreSQL versions: one signature for every supported major ---- */

/* Tree walkers (macros over *_impl with typed callbacks since 16; K&R callbacks in 15). */
typedef bool (*pgf_walker) (Node *node, void *context);
typedef Node *(*pgf_mutator) (Node *node, void *context);
extern bool pgf_expression_tree_walker(Node *node, pgf_walker walker, void *context);
extern Node *pgf_expression_tree_mutator(Node *node, pgf_mutator mutator, void *context);
extern bool pgf_query_tree_walker(Query *query, pgf_walker walker, void *context, int flags);
/* flatten_join_alias_vars as the parser would call it (16 added a PlannerInfo, NULL here). */
extern Node *pgf_flatten_join_alias_vars(Query *query, Node *node);
/* ReplaceVarsFromTargetList (18 added result_relation, 0 here: no RETURNING). */
extern Node *pgf_replace_vars_from_target_list(Node *node, int target_varno, int sublevels_up,
											   RangeTblEntry *target_rte, List *targetlist,
											   ReplaceVarsNoMatchOption nomatch_option,
											   int nomatch_varno, bool *outer_hasSubLinks);
/* Column i's type of a tuple descriptor (18 replaced the attrs array). */
extern Oid	pgf_tupdesc_atttypid(TupleDesc desc, int i);
/*
 * Whether PostgreSQL orders text under a collation by the bytes of its UTF-8 encoding, which is
 * code point order: C and POSIX, the builtin provider (17 and later), and libc's C.UTF-8 under
 * glibc 2.35 and later.
 */
extern bool pgf_collation_sorts_bytes(Oid collation);
/* Whether PostgreSQL compares text under a collation by memcmp (C and POSIX), in any encoding. */
extern bool pgf_collation_is_c(Oid collation);
/* ExplainOnePlan of a planned statement without timing or buffer counters. */
extern void pgf_explain_one_plan(PlannedStmt *stmt, ExplainState *es, const char *query_string,
								 ParamListInfo params);
/*
 * EXPLAIN of one query as PostgreSQL does it without an ExplainOneQuery_hook: plan it, then
 * ExplainOnePlan with the planning time and buffers (standard_ExplainOneQuery from 17 on; a
 * static function before).
 */
extern void pgf_standard_explain_one_query(Query *query, int cursor_options, IntoClause *into,
										   ExplainState *es, const char *query_string,
										   ParamListInfo params, QueryEnvironment *query_env);
/* ExecutorRun forward for up to `count` rows (18 dropped execute_once; false here). */
extern void pgf_executor_run(QueryDesc *qd, uint64 count);

/*
 * Permissions (16 moved them from the range-table entry to RTEPermissionInfo in
 * Query.rteperminfos / PlannedStmt.permInfos). On 15 these read or leave the entry itself.
 */
/* The user the entry's permissions are checked as and the rights required (0/0: none). */
extern void pgf_rte_permission(Query *query, RangeTblEntry *rte, Oid *check_as_user,
							   uint64 *required_perms);
/* A copy of the entry's permission info in `query` (NULL on 15 or when it has none). */
extern Node *pgf_rte_perminfo_copy(Query *query, RangeTblEntry *rte);
/* Make `perminfo` (from pgf_rte_perminfo_copy, may be NULL) the one permission info of `leaf`,
 * whose range table is the one entry `rte`. */
extern void pgf_leaf_set_perminfo(Query *leaf, RangeTblEntry *rte, Node *perminfo);
/* Append src's range table (and permission infos, renumbered) to dst's. */
extern void pgf_append_rtable(Query *dst, Query *src);
/* Add `src`'s permission info (from `src_perminfos`) to *perminfos for its flat copy `newrte`. */
extern void pgf_flat_perminfo(List **perminfos, List *src_perminfos, RangeTblEntry *src,
							  RangeTblEntry *newrte);
extern List *pgf_query_perminfos(Query *query);
/* Set a built PlannedStmt's permission infos (16+) and unprunable relids (18+). */
extern void pgf_stmt_finish(PlannedStmt *stmt, List *perminfos);
/* 18: the grouping expressions back in place of the GROUP RTE's Vars, in the query's select list
 * and HAVING (as subquery_planner does first); a no-op before 18 and without GROUP BY. */
extern void pgf_flatten_group_exprs(Query *query);
/* A copy of `node` without the outer-join nulling marks of Vars of its own level (16+). */
extern Node *pgf_strip_nullingrels(Node *node);
/* 16+: `dst`'s permission infos a copy of `src`'s (a query whose range table keeps `src`'s
 * numbering); a no-op on 15. */
extern void pgf_query_copy_perminfos(Query *dst, Query *src);
/* 16+: the Var's outer-join nulling marks the `n` range-table indexes of `relids`; a no-op on
 * 15. */
extern void pgf_var_set_nullingrels(Var *var, const int *relids, int n);

#endif							/* PG_FUSION_SHIM_H */
