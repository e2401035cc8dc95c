# sleep-spec.sh: sourced by the supervisor benches. write_sleep_spec STATE NAME writes services/NAME/spec.json in
# STATE for `/bin/sleep 3600`: the spec a -FilePath start writes (every field, as the supervisor validates them all),
# hang detection off.
write_sleep_spec() {
  local state=$1 name=$2
  mkdir -p -m 700 "$state/services/$name"
  printf '%s' '{"schema":"service_spec/1","seq":1,"written_at":"2026-01-01T00:00:00+00:00","writer":{"pid":1,"host":"bench"},'\
'"name":"'"$name"'","kind":"program","file_path":"/bin/sleep","arguments":["3600"],"environment":{},"working_directory":null,'\
'"restart_policy":"on-failure","backoff_initial_ms":1000,"backoff_max_ms":30000,"backoff_reset_after_ms":60000,'\
'"circuit_max_restarts":5,"circuit_window_ms":60000,"stop_timeout_ms":10000,"startup_grace_ms":1000,"startup_timeout_ms":30000,'\
'"ready_on_heartbeat":false,"hang_timeout_ms":0,"health_url":null,"health_interval_ms":2000,"health_timeout_ms":2000,'\
'"health_failure_threshold":3,"fatal_exit_codes":[],"no_restart_exit_codes":[78],"port":null,"log_max_bytes":10485760,'\
'"log_max_files":5,"log_rate_limit_bytes_per_second":16777216,"run_as_user":null,"nice":null,"hide_gpus":false,'\
'"alert_command":null,"alert_webhook_url":null,"alert_min_interval_ms":60000,"slurm":null,"run_id":null,"experiment":null,'\
'"tags":[],"cpu_policy":null,"heartbeat_interval_ms":5000}' > "$state/services/$name/spec.json"
  chmod 600 "$state/services/$name/spec.json"
}
