"""The catalog relations: PostgreSQL's column sets with each column's pg type.

A relation is declared as "column type, column type, ..." in PostgreSQL's
own spelling; the engine turns each into a SQLite table (storage type from
the pg type) and keeps the pg type to describe result columns. Arrays are
stored as PostgreSQL's text form ('{a,b}'), int2vector/oidvector as
space-separated numbers ('1 2'), exactly as PostgreSQL prints them, so a
value read back needs no conversion for text-format clients.

The relations written out here carry PostgreSQL 16's columns; every other
pg_catalog relation, and the columns these lack, come from PostgreSQL 15's
own list (pg_relations.py, generated), so a client that reads any of them
finds it, empty where the backend has nothing to say.
"""

from __future__ import annotations

from pgproxy.catalog.pg_relations import RELATIONS

PG_CATALOG: dict[str, str] = {
    "pg_namespace": "oid oid, nspname name, nspowner oid, nspacl _aclitem",
    "pg_class": (
        "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid,"
        " relam oid, relfilenode oid, reltablespace oid, relpages int4, reltuples float4,"
        " relallvisible int4, reltoastrelid oid, relhasindex bool, relisshared bool,"
        " relpersistence char, relkind char, relnatts int2, relchecks int2, relhasrules bool,"
        " relhastriggers bool, relhassubclass bool, relrowsecurity bool,"
        " relforcerowsecurity bool, relispopulated bool, relreplident char,"
        " relispartition bool, relrewrite oid, relfrozenxid xid, relminmxid xid,"
        " relacl _aclitem, reloptions _text, relpartbound pg_node_tree"
    ),
    "pg_attribute": (
        "attrelid oid, attname name, atttypid oid, attlen int2, attnum int2, atttypmod int4,"
        " attndims int2, attbyval bool, attalign char, attstorage char, attcompression char,"
        " attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char,"
        " attgenerated char, attisdropped bool, attislocal bool, attinhcount int2,"
        " attstattarget int2, attcollation oid, attacl _aclitem, attoptions _text,"
        " attfdwoptions _text, attmissingval text"
    ),
    "pg_type": (
        "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool,"
        " typtype char, typcategory char, typispreferred bool, typisdefined bool,"
        " typdelim char, typrelid oid, typsubscript regproc, typelem oid, typarray oid,"
        " typinput regproc, typoutput regproc, typreceive regproc, typsend regproc,"
        " typmodin regproc, typmodout regproc, typanalyze regproc, typalign char,"
        " typstorage char, typnotnull bool, typbasetype oid, typtypmod int4, typndims int4,"
        " typcollation oid, typdefaultbin pg_node_tree, typdefault text, typacl _aclitem"
    ),
    "pg_attrdef": "oid oid, adrelid oid, adnum int2, adbin pg_node_tree",
    "pg_index": (
        "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool,"
        " indnullsnotdistinct bool, indisprimary bool, indisexclusion bool,"
        " indimmediate bool, indisclustered bool, indisvalid bool, indcheckxmin bool,"
        " indisready bool, indislive bool, indisreplident bool, indkey int2vector,"
        " indcollation oidvector, indclass oidvector, indoption int2vector,"
        " indexprs pg_node_tree, indpred pg_node_tree"
    ),
    "pg_constraint": (
        "oid oid, conname name, connamespace oid, contype char, condeferrable bool,"
        " condeferred bool, convalidated bool, conrelid oid, contypid oid, conindid oid,"
        " conparentid oid, confrelid oid, confupdtype char, confdeltype char,"
        " confmatchtype char, conislocal bool, coninhcount int2, connoinherit bool,"
        " conkey _int2, confkey _int2, conpfeqop _oid, conppeqop _oid, conffeqop _oid,"
        " confdelsetcols _int2, conexclop _oid, conbin pg_node_tree"
    ),
    "pg_description": "objoid oid, classoid oid, objsubid int4, description text",
    "pg_shdescription": "objoid oid, classoid oid, description text",
    "pg_database": (
        "oid oid, datname name, datdba oid, encoding int4, datlocprovider char,"
        " datistemplate bool, datallowconn bool, datconnlimit int4, datfrozenxid xid,"
        " datminmxid xid, dattablespace oid, datcollate text, datctype text,"
        " daticulocale text, daticurules text, datcollversion text, datacl _aclitem"
    ),
    "pg_settings": (
        "name text, setting text, unit text, category text, short_desc text, extra_desc text,"
        " context text, vartype text, source text, min_val text, max_val text,"
        " enumvals _text, boot_val text, reset_val text, sourcefile text, sourceline int4,"
        " pending_restart bool"
    ),
    "pg_authid": (
        "oid oid, rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool,"
        " rolcreatedb bool, rolcanlogin bool, rolreplication bool, rolbypassrls bool,"
        " rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz"
    ),
    "pg_auth_members": (
        "oid oid, roleid oid, member oid, grantor oid, admin_option bool,"
        " inherit_option bool, set_option bool"
    ),
    "pg_am": "oid oid, amname name, amhandler regproc, amtype char",
    "pg_proc": (
        "oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4,"
        " prorows float4, provariadic oid, prosupport regproc, prokind char, prosecdef bool,"
        " proleakproof bool, proisstrict bool, proretset bool, provolatile char,"
        " proparallel char, pronargs int2, pronargdefaults int2, prorettype oid,"
        " proargtypes oidvector, proallargtypes _oid, proargmodes _char, proargnames _text,"
        " proargdefaults pg_node_tree, protrftypes _oid, prosrc text, probin text,"
        " prosqlbody pg_node_tree, proconfig _text, proacl _aclitem"
    ),
    "pg_tablespace": "oid oid, spcname name, spcowner oid, spcacl _aclitem, spcoptions _text",
    "pg_collation": (
        "oid oid, collname name, collnamespace oid, collowner oid, collprovider char,"
        " collisdeterministic bool, collencoding int4, collcollate text, collctype text,"
        " colliculocale text, collicurules text, collversion text"
    ),
    "pg_inherits": "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool",
    "pg_aggregate": (
        "aggfnoid regproc, aggkind char, aggnumdirectargs int2, aggtransfn regproc,"
        " aggfinalfn regproc, aggcombinefn regproc, aggserialfn regproc,"
        " aggdeserialfn regproc, aggmtransfn regproc, aggminvtransfn regproc,"
        " aggmfinalfn regproc, aggfinalextra bool, aggmfinalextra bool, aggfinalmodify char,"
        " aggmfinalmodify char, aggsortop oid, aggtranstype oid, aggtransspace int4,"
        " aggmtranstype oid, aggmtransspace int4, agginitval text, aggminitval text"
    ),
    # pg_get_keywords() in FROM reads this relation (translate.py): typed like the function.
    "pg_get_keywords": "word text, catcode char, barelabel bool, catdesc text, baredesc text",
    "pg_enum": "oid oid, enumtypid oid, enumsortorder float4, enumlabel name",
    "pg_range": (
        "rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid,"
        " rngcanonical regproc, rngsubdiff regproc"
    ),
    "pg_extension": (
        "oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool,"
        " extversion text, extconfig _oid, extcondition _text"
    ),
    "pg_language": (
        "oid oid, lanname name, lanowner oid, lanispl bool, lanpltrusted bool,"
        " lanplcallfoid oid, laninline oid, lanvalidator oid, lanacl _aclitem"
    ),
    "pg_trigger": (
        "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2,"
        " tgenabled char, tgisinternal bool, tgconstrrelid oid, tgconstrindid oid,"
        " tgconstraint oid, tgdeferrable bool, tginitdeferred bool, tgnargs int2,"
        " tgattr int2vector, tgargs bytea, tgqual pg_node_tree, tgoldtable name,"
        " tgnewtable name"
    ),
    "pg_rewrite": (
        "oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char,"
        " is_instead bool, ev_qual pg_node_tree, ev_action pg_node_tree"
    ),
    "pg_policy": (
        "oid oid, polname name, polrelid oid, polcmd char, polpermissive bool,"
        " polroles _oid, polqual pg_node_tree, polwithcheck pg_node_tree"
    ),
    "pg_statistic_ext": (
        "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid,"
        " stxstattarget int4, stxkeys int2vector, stxkind _char, stxexprs pg_node_tree"
    ),
    "pg_publication": (
        "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool,"
        " pubupdate bool, pubdelete bool, pubtruncate bool, pubviaroot bool"
    ),
    "pg_publication_rel": (
        "oid oid, prpubid oid, prrelid oid, prqual pg_node_tree, prattrs int2vector"
    ),
    "pg_publication_namespace": "oid oid, pnpubid oid, pnnspid oid",
    "pg_subscription": "oid oid, subdbid oid, subname name, subowner oid, subenabled bool",
    "pg_partitioned_table": (
        "partrelid oid, partstrat char, partnatts int2, partdefid oid, partattrs int2vector,"
        " partclass oidvector, partcollation oidvector, partexprs pg_node_tree"
    ),
    "pg_foreign_table": "ftrelid oid, ftserver oid, ftoptions _text",
    "pg_foreign_server": (
        "oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, srvversion text,"
        " srvacl _aclitem, srvoptions _text"
    ),
    "pg_foreign_data_wrapper": (
        "oid oid, fdwname name, fdwowner oid, fdwhandler oid, fdwvalidator oid,"
        " fdwacl _aclitem, fdwoptions _text"
    ),
    "pg_sequence": (
        "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8,"
        " seqmin int8, seqcache int8, seqcycle bool"
    ),
    "pg_depend": (
        "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid,"
        " refobjsubid int4, deptype char"
    ),
    "pg_opclass": (
        "oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid,"
        " opcfamily oid, opcintype oid, opcdefault bool, opckeytype oid"
    ),
    "pg_opfamily": "oid oid, opfmethod oid, opfname name, opfnamespace oid, opfowner oid",
    "pg_operator": (
        "oid oid, oprname name, oprnamespace oid, oprowner oid, oprkind char,"
        " oprcanmerge bool, oprcanhash bool, oprleft oid, oprright oid, oprresult oid,"
        " oprcom oid, oprnegate oid, oprcode regproc, oprrest regproc, oprjoin regproc"
    ),
    "pg_cast": (
        "oid oid, castsource oid, casttarget oid, castfunc oid, castcontext char,"
        " castmethod char"
    ),
    "pg_event_trigger": (
        "oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, evtenabled char,"
        " evttags _text"
    ),
    "pg_conversion": (
        "oid oid, conname name, connamespace oid, conowner oid, conforencoding int4,"
        " contoencoding int4, conproc regproc, condefault bool"
    ),
    "pg_ts_config": "oid oid, cfgname name, cfgnamespace oid, cfgowner oid, cfgparser oid",
    "pg_default_acl": (
        "oid oid, defaclrole oid, defaclnamespace oid, defaclobjtype char, defaclacl _aclitem"
    ),
    "pg_init_privs": "objoid oid, classoid oid, objsubid int4, privtype char, initprivs _aclitem",
    "pg_seclabel": "objoid oid, classoid oid, objsubid int4, provider text, label text",
    "pg_shseclabel": "objoid oid, classoid oid, provider text, label text",
    "pg_db_role_setting": "setdatabase oid, setrole oid, setconfig _text",
    "pg_stat_activity": (
        "datid oid, datname name, pid int4, leader_pid int4, usesysid oid, usename name,"
        " application_name text, client_addr inet, client_hostname text, client_port int4,"
        " backend_start timestamptz, xact_start timestamptz, query_start timestamptz,"
        " state_change timestamptz, wait_event_type text, wait_event text, state text,"
        " backend_xid xid, backend_xmin xid, query_id int8, query text, backend_type text"
    ),
    "pg_locks": (  # the proxy's advisory locks (pgproxy/advisory.py)
        "locktype text, database oid, relation oid, page int4, tuple int2, virtualxid text,"
        " transactionid xid, classid oid, objid oid, objsubid int2, virtualtransaction text,"
        " pid int4, mode text, granted bool, fastpath bool, waitstart timestamptz"
    ),
    "pg_timezone_names": "name text, abbrev text, utc_offset interval, is_dst bool",
    "pg_available_extensions": (
        "name name, default_version text, installed_version text, comment text"
    ),
    "pg_stat_user_tables": (
        "relid oid, schemaname name, relname name, seq_scan int8, n_live_tup int8,"
        " n_dead_tup int8"
    ),
    "pg_statio_user_tables": "relid oid, schemaname name, relname name, heap_blks_read int8",
    "pg_matviews": (
        "schemaname name, matviewname name, matviewowner name, tablespace name,"
        " hasindexes bool, ispopulated bool, definition text"
    ),
    "pg_sequences": (
        "schemaname name, sequencename name, sequenceowner name, data_type regtype,"
        " start_value int8, min_value int8, max_value int8, increment_by int8, cycle bool,"
        " cache_size int8, last_value int8"
    ),
}

# Views over the relations above: SQL in SQLite's dialect, columns typed by
# their declaration here.
PG_VIEWS: dict[str, tuple[str, str]] = {
    "pg_roles": (
        "rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool,"
        " rolcanlogin bool, rolreplication bool, rolconnlimit int4, rolpassword text,"
        " rolvaliduntil timestamptz, rolbypassrls bool, rolconfig _text, oid oid",
        "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,"
        " rolreplication, rolconnlimit, '********', rolvaliduntil, rolbypassrls, NULL, oid"
        " FROM pg_catalog.pg_authid",
    ),
    "pg_user": (
        "usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool,"
        " usebypassrls bool, passwd text, valuntil timestamptz, useconfig _text",
        "SELECT rolname, oid, rolcreatedb, rolsuper, rolreplication, rolbypassrls,"
        " '********', rolvaliduntil, NULL FROM pg_catalog.pg_authid WHERE rolcanlogin",
    ),
    "pg_tables": (
        "schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool,"
        " hasrules bool, hastriggers bool, rowsecurity bool",
        "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), NULL, c.relhasindex,"
        " c.relhasrules, c.relhastriggers, c.relrowsecurity FROM pg_catalog.pg_class c"
        " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p')",
    ),
    "pg_views": (
        "schemaname name, viewname name, viewowner name, definition text",
        "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), pg_get_viewdef(c.oid)"
        " FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n"
        " ON n.oid = c.relnamespace WHERE c.relkind = 'v'",
    ),
    "pg_indexes": (
        "schemaname name, tablename name, indexname name, tablespace name, indexdef text",
        "SELECT n.nspname, c.relname, i.relname, NULL, pg_get_indexdef(i.oid)"
        " FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indrelid"
        " JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid"
        " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'm', 'p') AND i.relkind IN ('i', 'I')",
    ),
}

INFORMATION_SCHEMA: dict[str, str] = {
    "schemata": (
        "catalog_name name, schema_name name, schema_owner name,"
        " default_character_set_catalog name, default_character_set_schema name,"
        " default_character_set_name name, sql_path varchar"
    ),
    "tables": (
        "table_catalog name, table_schema name, table_name name, table_type varchar,"
        " self_referencing_column_name name, reference_generation varchar,"
        " user_defined_type_catalog name, user_defined_type_schema name,"
        " user_defined_type_name name, is_insertable_into varchar, is_typed varchar,"
        " commit_action varchar"
    ),
    "columns": (
        "table_catalog name, table_schema name, table_name name, column_name name,"
        " ordinal_position int4, column_default varchar, is_nullable varchar,"
        " data_type varchar, character_maximum_length int4, character_octet_length int4,"
        " numeric_precision int4, numeric_precision_radix int4, numeric_scale int4,"
        " datetime_precision int4, interval_type varchar, interval_precision int4,"
        " character_set_catalog name, character_set_schema name, character_set_name name,"
        " collation_catalog name, collation_schema name, collation_name name,"
        " domain_catalog name, domain_schema name, domain_name name, udt_catalog name,"
        " udt_schema name, udt_name name, scope_catalog name, scope_schema name,"
        " scope_name name, maximum_cardinality int4, dtd_identifier name,"
        " is_self_referencing varchar, is_identity varchar, identity_generation varchar,"
        " identity_start varchar, identity_increment varchar, identity_maximum varchar,"
        " identity_minimum varchar, identity_cycle varchar, is_generated varchar,"
        " generation_expression varchar, is_updatable varchar"
    ),
    "views": (
        "table_catalog name, table_schema name, table_name name, view_definition varchar,"
        " check_option varchar, is_updatable varchar, is_insertable_into varchar,"
        " is_trigger_updatable varchar, is_trigger_deletable varchar,"
        " is_trigger_insertable_into varchar"
    ),
    "table_constraints": (
        "constraint_catalog name, constraint_schema name, constraint_name name,"
        " table_catalog name, table_schema name, table_name name, constraint_type varchar,"
        " is_deferrable varchar, initially_deferred varchar, enforced varchar,"
        " nulls_distinct varchar"
    ),
    "key_column_usage": (
        "constraint_catalog name, constraint_schema name, constraint_name name,"
        " table_catalog name, table_schema name, table_name name, column_name name,"
        " ordinal_position int4, position_in_unique_constraint int4"
    ),
    "referential_constraints": (
        "constraint_catalog name, constraint_schema name, constraint_name name,"
        " unique_constraint_catalog name, unique_constraint_schema name,"
        " unique_constraint_name name, match_option varchar, update_rule varchar,"
        " delete_rule varchar"
    ),
    "constraint_column_usage": (
        "table_catalog name, table_schema name, table_name name, column_name name,"
        " constraint_catalog name, constraint_schema name, constraint_name name"
    ),
    "routines": (
        "specific_catalog name, specific_schema name, specific_name name,"
        " routine_catalog name, routine_schema name, routine_name name,"
        " routine_type varchar, data_type varchar"
    ),
    "sequences": (
        "sequence_catalog name, sequence_schema name, sequence_name name, data_type varchar,"
        " numeric_precision int4, start_value varchar, minimum_value varchar,"
        " maximum_value varchar, increment varchar, cycle_option varchar"
    ),
}


def columns_of(spec: str) -> list[tuple[str, str]]:
    """'a oid, b name' -> [('a', 'oid'), ('b', 'name')]."""
    out = []
    for part in spec.split(","):
        name, typ = part.split()
        out.append((name, typ))
    return out


def _complete() -> None:
    """Add pg_catalog's other relations, and the columns of ours that lack some."""
    for name, (_oid, _kind, spec) in RELATIONS.items():
        if name in PG_VIEWS:
            continue
        ours = PG_CATALOG.get(name)
        if ours is None:
            PG_CATALOG[name] = spec
            continue
        have = {c for c, _ in columns_of(ours)}
        missing = [f"{c} {t}" for c, t in columns_of(spec) if c not in have]
        if missing:
            PG_CATALOG[name] = f"{ours}, {', '.join(missing)}"


_complete()
