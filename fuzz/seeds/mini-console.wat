;; Like mini.wat, plus one import (marie:node/console@1.0.0 log, called
;; once): a seed that takes fuzz_component through the import checks and a
;; host call. Rebuild with
;;   wasm-tools parse mini-console.wat -o ../corpus/component/mini-console.wasm
(component
  (type $console' (instance
    (type $level (enum "debug" "info" "warn" "error"))
    (export "log-level" (type $level' (eq $level)))
    (export "log" (func (param "level" $level') (param "message" string)))))
  (import "marie:node/console@1.0.0" (instance $console (type $console')))
  (core module $mem
    (memory (export "memory") 1))
  (core instance $mi (instantiate $mem))
  (core func $log (canon lower (func $console "log") (memory (core memory $mi "memory"))))
  (core module $m
    (import "host" "memory" (memory 1))
    (import "host" "log" (func $log (param i32 i32 i32)))
    (global $next (mut i32) (i32.const 1024))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (data (i32.const 16) "\00\00\00\00\30\00\00\00\01\00\00\00")
    (data (i32.const 48) "\20\00\00\00\02\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
    (data (i32.const 32) "{}")
    (func (export "execute")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
      (call $log (i32.const 1) (i32.const 32) (i32.const 2))
      (i32.const 16)))
  (core instance $i (instantiate $m
    (with "host" (instance (export "memory" (memory $mi "memory")) (export "log" (func $log))))))
  (type $item' (record (field "json" string) (field "binary" (option (list u8)))))
  (export $item "item" (type $item'))
  (type $env' (record (field "vars" string)))
  (export $env "env" (type $env'))
  (type $ctx' (record (field "workflow-id" string) (field "execution-id" string)
                      (field "node-id" string) (field "run-index" u32)))
  (export $ctx "context" (type $ctx'))
  (type $resp' (variant (case "ok" (list $item)) (case "err" string)))
  (export $resp "response" (type $resp'))
  (func $execute (param "input" (list $item)) (param "env" $env) (param "ctx" $ctx)
    (result $resp)
    (canon lift (core func $i "execute") (memory (core memory $mi "memory"))
      (realloc (core func $i "cabi_realloc"))))
  (export "execute" (func $execute)))
