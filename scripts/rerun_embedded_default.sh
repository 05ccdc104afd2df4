#!/usr/bin/env bash
# Rerun the shipped outputs/embedded_default/ runs: each study with its default config and
# the overrides below (more samples where a headline contrast needs them to be resolved by
# its CI over samples), then its table (and PNGs) with `dlik tables ... --out table.md`.
# Two queues run side by side, one torch thread each (a 2-core machine):
#   bash scripts/rerun_embedded_default.sh [OUT_DIR]        (default outputs/embedded_default)
# A run resumes where it stopped when the same command is run again.
set -uo pipefail   # a failed run is logged; the queue goes on
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
  # with the null-text rows (pmi columns), then the ELBO ranker on the same candidates
  run tts_text_agnostic text_agnostic experiment=tts_text_agnostic data.n_utterances=8 \
    +study.null_condition=true
  dlik elbo experiment=tts_text_agnostic data.n_utterances=8 +study.null_condition=true \
    --out "$OUT/tts_text_agnostic/elbo.csv" > "$OUT/.tts_text_agnostic_elbo.log" 2>&1 \
    && dlik tables elbo_agreement -i "$OUT/tts_text_agnostic/results.csv" "$OUT/tts_text_agnostic/elbo.csv" --out "$OUT/tts_text_agnostic/elbo_agreement.md" > /dev/null
  # the paper's independent probes (one per row) on the first 4 of those utterances, same
  # steps (dlik tables protocols)
  run tts_text_agnostic_independent text_agnostic experiment=tts_text_agnostic \
    data.n_utterances=4 solver.probes=independent solver.n_probes=1
  run tts_nbest_rescoring nbest experiment=tts_nbest_rescoring
  run tti_quality tti_quality experiment=tti_quality
}

queue_b() {
  run tti_prompt_confounds prompt_confounds experiment=tti_prompt_confounds
  # the authors' SDXL protocol on the original images (dlik tables protocols)
  run tti_prompt_confounds_paper prompt_confounds experiment=tti_prompt_confounds \
    solver=paper_tti 'study.sources=[original]'
  run tts_speaker speaker experiment=tts_speaker data.n_utterances=8 study.k_other=3
  run tti_generative_path tti_generative_path experiment=tti_generative_path
}

queue_a & a=$!
queue_b & b=$!
wait $a $b
