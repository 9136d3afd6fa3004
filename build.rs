//! Generates the PostgreSQL bindings and compiles the C shim.
//!
//! `pg_config` comes from `$PG_CONFIG`, else from `PATH`. Bindings are build output
//! (`$OUT_DIR/bindings.rs`), never committed. The allowlist below is the whole PostgreSQL surface
//! pg_fusion uses: widen it deliberately, one commented group at a time.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn pg_config(arg: &str) -> String {
    let bin = env::var("PG_CONFIG").unwrap_or_else(|_| "pg_config".to_string());
    let out = Command::new(&bin)
        .arg(arg)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} {arg}: {e} (set PG_CONFIG)"));
    assert!(out.status.success(), "{bin} {arg} failed");
    String::from_utf8(out.stdout).expect("pg_config output is UTF-8").trim().to_string()
}

fn main() {
    println!("cargo:rerun-if-env-changed=PG_CONFIG");
    println!("cargo:rerun-if-changed=c_shim");

    let includedir = pg_config("--includedir-server");
    let version = pg_config("--version"); // "PostgreSQL 15.18 (Debian ...)"
    let major: u32 = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse pg_config --version: {version}"));
    assert!(major >= 15, "pg_fusion needs PostgreSQL 15 or later, pg_config says {version}");
    println!("cargo::rustc-check-cfg=cfg(pg_major, values(\"15\", \"16\", \"17\", \"18\"))");
    println!("cargo:rustc-cfg=pg_major=\"{major}\"");
    // Cumulative flags: a site that changed in version N says `#[cfg(pg_geN)]`.
    for (flag, min) in [("pg_ge16", 16), ("pg_ge17", 17), ("pg_ge18", 18)] {
        println!("cargo::rustc-check-cfg=cfg({flag})");
        if major >= min {
            println!("cargo:rustc-cfg={flag}");
        }
    }
    assert!(major <= 18, "pg_fusion supports PostgreSQL 15 to 18, pg_config says {version}");

    cc::Build::new()
        .file("c_shim/shim.c")
        .include("c_shim")
        .include(&includedir)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-missing-field-initializers")
        .flag_if_supported("-Wno-sign-compare")
        .compile("pgf_shim");

    let bindings = bindgen::Builder::default()
        .header("c_shim/pg_fusion_shim.h")
        .clang_arg(format!("-I{includedir}"))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .layout_tests(false)
        .derive_default(true)
        .use_core()
        // The C shim: module magic, PG_TRY trampoline, ereport, latches, hooks, SRF helpers.
        .allowlist_function("pgf_.*")
        // GUCs.
        .allowlist_function("DefineCustom(Bool|Int|Real|Enum|String)Variable")
        .allowlist_function("MarkGUCPrefixReserved")
        .allowlist_function("GetConfigOption")
        .allowlist_function("parse_int")
        .allowlist_type("config_enum_entry")
        .allowlist_type("GucContext")
        .allowlist_var("GUC_UNIT_.*")
        .allowlist_var("GUC_(NOT_IN_SAMPLE|SUPERUSER_ONLY)")
        // Processes and background workers.
        .allowlist_function("RegisterBackgroundWorker")
        .allowlist_type("BackgroundWorker")
        .allowlist_var("BGWORKER_(SHMEM_ACCESS|BACKEND_DATABASE_CONNECTION)")
        .allowlist_function("BackgroundWorkerInitializeConnection")
        .allowlist_var("BGW_(MAXLEN|NEVER_RESTART)")
        .allowlist_var("process_shared_preload_libraries_in_progress")
        .allowlist_var("MyProcPid")
        .allowlist_function("proc_exit")
        .allowlist_function("before_shmem_exit")
        .allowlist_var("WL_(LATCH_SET|TIMEOUT|EXIT_ON_PM_DEATH|POSTMASTER_DEATH)")
        // Memory and values.
        .allowlist_function("palloc")
        .allowlist_function("pstrdup")
        .allowlist_function("cstring_to_text_with_len")
        .allowlist_type("Datum")
        .allowlist_type("FunctionCallInfo")
        .allowlist_type("Pg_finfo_record")
        .allowlist_type("Pg_magic_struct")
        // The query path: nodes, planner and executor hooks, custom scan, catalog lookups,
        // deparsing, values.
        .allowlist_type("(Query|PlannedStmt|CustomScan|CustomScanState|RangeTblEntry|RangeTblRef)")
        .allowlist_type("(FromExpr|TargetEntry|SortGroupClause|Var|Const|Param|Aggref|OpExpr|FuncExpr)")
        .allowlist_type("(BoolExpr|NullTest|RelabelType|SubLink|CaseExpr|CaseWhen|CoalesceExpr|CoerceViaIO|ExplainState|QueryDesc|DestReceiver|TupleDescData)")
        .allowlist_type("(ParamListInfoData|Interval|pg_uuid_t|MemoryContextCallback|NodeTag|String)")
        .allowlist_type("(planner_hook_type|ExecutorRun_hook_type|ProcessUtility_hook_type|ExplainOneQuery_hook_type)")
        .allowlist_var("(planner_hook|ExecutorRun_hook|ProcessUtility_hook|ExplainOneQuery_hook)")
        .allowlist_function("(standard_planner|standard_ExecutorRun|standard_ProcessUtility)")
        .allowlist_function("(ExecutorStart|ExecutorFinish|ExecutorEnd|CreateQueryDesc|FreeQueryDesc)")
        .allowlist_function("(pg_parse_query|pg_analyze_and_rewrite_fixedparams|pg_plan_query)")
        .allowlist_function("(GetActiveSnapshot|PushActiveSnapshot|PopActiveSnapshot)")
        .allowlist_function("(CreateTupleDescCopy|MakeSingleTupleTableSlot|ExecDropSingleTupleTableSlot|ExecStoreVirtualTuple)")
        .allowlist_var("TTSOpsMinimalTuple")
        .allowlist_function("(MemoryContextRegisterResetCallback|MemoryContextUnregisterResetCallback|MemoryContextAllocZero)")
        .allowlist_function("(makeTargetEntry|makeVar|makeFuncExpr|makeNullConst|makeConst|copyObjectImpl|equal)")
        .allowlist_function("(exprType|exprTypmod|exprCollation)")
        .allowlist_function("(contain_volatile_functions|contain_mutable_functions|get_func_leakproof|eval_const_expressions)")
        .allowlist_function("(get_rel_name|get_rel_namespace|get_rel_relkind|get_namespace_name|get_opname)")
        .allowlist_function("(get_typlenbyval|get_collation_isdeterministic|has_subclass|get_typtype|getBaseTypeAndTypmod)")
        .allowlist_function("(get_sortgroupclause_tle|op_input_types|get_func_namespace)")
        .allowlist_function("(deparse_expression|deparse_context_for|quote_identifier|pg_get_querydef)")
        .allowlist_function("(ExplainPropertyText|ExplainPropertyInteger|ExplainPropertyList|ExplainOpenGroup|ExplainCloseGroup)")
        .allowlist_function("(NewExplainState|ExplainPrintPlan)")
        // Bound scan leaves: built as Query nodes, planned, shipped to parallel workers as node
        // text.
        .allowlist_function("(nodeToString|stringToNode|makeFromExpr|makeBoolConst|check_stack_depth)")
        .allowlist_function("(ChangeVarNodes|makeBoolExpr|OffsetVarNodes|list_concat|list_copy|GetUserId|GetSessionUserId|text_to_cstring|contain_nonstrict_functions)")
        .allowlist_type("ReplaceVarsNoMatchOption")
        .allowlist_function("(extract_query_dependencies|checkExprHasSubLink|IncrementVarSublevelsUp|makeAlias)")
        .allowlist_type("TypeCacheEntry")
        .allowlist_var("TYPECACHE_(LT_OPR|EQ_OPR|HASH_PROC)")
        .allowlist_function("(contain_vars_of_level|lookup_type_cache|func_strict|expand_grouping_sets|get_negator)")
        .allowlist_type("(GroupingFunc|WindowFunc|WindowClause|CollateExpr|ScalarArrayOpExpr)")
        .allowlist_type("(IndexScan|IndexOnlyScan|NestLoop|Sort|Unique|Limit|WindowAgg|ProjectSet|Agg|SeqScan|Append|MergeAppend|SubqueryScan|AppendRelInfo)")
        .allowlist_function("(flatCopyTargetEntry|expression_planner_with_deps|func_volatile|op_volatile)")
        .allowlist_function("(contain_window_function|expression_returns_set)")
        .allowlist_function("(table_open|table_close|RelationGetIndexList|index_open|index_close)")
        .allowlist_var("(NoLock|AccessShareLock)")
        .allowlist_var("FRAMEOPTION_.*")
        .allowlist_var("QTW_EXAMINE_RTES_BEFORE")
        .allowlist_type("(JoinExpr|FromExpr|RangeTblRef|SetOperationStmt)")
        .allowlist_function("(appendStringInfoString|appendStringInfoSpaces|lappend)")
        .allowlist_function("(int64_to_numeric|int64_div_fast_to_numeric|numeric_out)")
        // Index probes (`pg::leaf::ProbePlan`, `pg::producer::probe`): a key array as a parameter.
        .allowlist_function("(construct_array|makeParamList)")
        .allowlist_var("(INT2ARRAYOID|INT4ARRAYOID|INT8ARRAYOID|PARAM_FLAG_CONST)")
        .allowlist_function("(pfree|palloc0|list_make1_impl|lappend_oid|get_func_name|format_type_be|format_type_with_typemod)")
        .allowlist_type("pg_enc")
        .allowlist_var("(CurrentMemoryContext|InterruptPending|QueryCancelPending)")
        .allowlist_type("(ExprContext|CommandDest|ScanDirection|CommonTableExpr|ExplainFormat)")
        .allowlist_var("(INDEX_VAR|OUTER_VAR|EXEC_FLAG_EXPLAIN_ONLY|FirstGenbkiObjectId|FirstNormalObjectId)")
        .allowlist_var("(CURSOR_OPT_.*|RELKIND_.*|PG_UTF8|PG_SQL_ASCII|NAMEDATALEN)")
        .allowlist_var("(BOOLOID|INT2OID|INT4OID|INT8OID|FLOAT4OID|FLOAT8OID|NUMERICOID|TEXTOID|VARCHAROID)")
        .allowlist_var("(BPCHAROID|NAMEOID|DATEOID|TIMESTAMPOID|TIMESTAMPTZOID|UUIDOID|BYTEAOID|TIMEOID)")
        .allowlist_var("(RECORDOID|RECORDARRAYOID|TYPTYPE_[A-Z]+|OIDOID|REGCLASSOID|REGTYPEOID|REGPROCOID)")
        .allowlist_var("(INTERVALOID|VARHDRSZ|DATEVAL_NOBEGIN|DATEVAL_NOEND|DEFAULT_COLLATION_OID|F_[A-Z0-9_]+)")
        .allowlist_var("(NUMERIC_.*|DEC_DIGITS|NBASE)")
        // Error levels.
        .allowlist_var("(DEBUG1|DEBUG2|LOG|INFO|NOTICE|WARNING|ERROR|FATAL)")
        // Only the C shim may longjmp.
        .blocklist_function("(sig)?(set|long)jmp")
        .blocklist_function("err(start|finish|msg|detail|hint|code).*")
        .generate()
        .expect("bindgen failed on c_shim/pg_fusion_shim.h");

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    bindings.write_to_file(out.join("bindings.rs")).expect("cannot write bindings.rs");
}
