#!/usr/bin/env bash
# Rerun the shipped outputs/embedded_default/ runs: each study with its default config and
# the overrides below (more samples where a headline contrast needs them to be resolved by
# its CI over samples), then its table (and PNGs) with `dlik tables ... --out table.md`.
# Two queues run side by side, one torch thread each (a 2-core machine):
#   bash scripts/rerun_embedded_default.sh [OUT_DIR]        (default outputs/embedded_default)
# A run resumes where it stopped when the same command is run again.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-outputs/embedded_default}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"

run() {  # run NAME TABLE OVERRIDES... : score into $OUT/NAME, then its table
  local name=$1 table=$2 start
  shift 2
  start=$(date +%s)
  dlik run "$@" paths.output_root="$OUT/.runs" run_name="$name" progress=false \
    > "$OUT/.$name.log" 2>&1
  local dir
  dir=$(dirname "$(ls -t "$OUT"/.runs/*/"$name"/results.csv | head -1)")
  rm -rf "${OUT:?}/$name"
  mkdir -p "$OUT/$name"
  cp "$dir/results.csv" "$dir/config.yaml" "$OUT/$name/"
  [ -d "$dir/images" ] && cp -r "$dir/images" "$OUT/$name/"
  dlik tables "$table" -i "$OUT/$name/results.csv" --out "$OUT/$name/table.md" > /dev/null
  echo "$name: $(( $(date +%s) - start )) s" | tee -a "$OUT/.wall_times.txt"
}

queue_a() {
  run tts_text_agnostic text_agnostic experiment=tts_text_agnostic data.n_utterances=8
  # the paper's independent probes on the first 4 of those utterances (dlik tables protocols)
  run tts_text_agnostic_independent text_agnostic experiment=tts_text_agnostic \
    data.n_utterances=4 solver.probes=independent
  run tts_nbest_rescoring nbest experiment=tts_nbest_rescoring
  run tti_quality tti_quality experiment=tti_quality
}

queue_b() {
  run tti_prompt_confounds prompt_confounds experiment=tti_prompt_confounds
  # the authors' SDXL protocol on the original images (dlik tables protocols)
  run tti_prompt_confounds_paper prompt_confounds experiment=tti_prompt_confounds \
    solver=paper_tti solver.n_probes=1 'study.sources=[original]'
  run tts_speaker speaker experiment=tts_speaker data.n_utterances=8 study.k_other=3
  run tti_generative_path tti_generative_path experiment=tti_generative_path
}

queue_a & a=$!
queue_b & b=$!
wait $a $b
