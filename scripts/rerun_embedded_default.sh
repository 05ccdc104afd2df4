#!/usr/bin/env bash
# Rerun the shipped outputs/embedded_default/ runs: each study with its default config and
# the overrides below (more samples where a headline contrast needs them to be resolved by
# its CI over samples), then its table (and PNGs) with `dlik tables ... --out table.md`.
# Two queues run side by side, one torch thread each (a 2-core machine):
#   bash scripts/rerun_embedded_default.sh [OUT_DIR] [paper|sd3]   (default outputs/embedded_default)
# paper (default): the studies as shipped (Grad-TTS and sdxl_tiny); sd3: the TTI studies on
# sd3_tiny beside them, `dlik bench` of both embedded TTI models (16 prompts of one image,
# side by side in one run) and `dlik tables architectures` (needs the paper runs' CSVs).
# A run resumes where it stopped when the same command is run again.
set -uo pipefail   # a failed run is logged; the queue goes on
cd "$(dirname "$0")/.."
OUT=${1:-outputs/embedded_default}
WHICH=${2:-paper}
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

queue_sd3_a() {
  # the originals only: the side-by-side compares argmax accuracy on the same images
  run sd3_tiny_prompt_confounds prompt_confounds experiment=tti_prompt_confounds \
    model=sd3_tiny 'study.sources=[original]'
  local start=$(date +%s)
  dlik bench --model sdxl sd3 --samples 16 --solver dopri5_1e-5_2probes --ref-tol 1e-7 \
    --paper-tol 1e-3 --threads 1 > "$OUT/bench_tti_models.jsonl" 2> "$OUT/.bench_tti.log"
  echo "bench_tti_models: $(( $(date +%s) - start )) s" | tee -a "$OUT/.wall_times.txt"
}

queue_sd3_b() {
  run sd3_tiny_quality tti_quality experiment=tti_quality model=sd3_tiny
  run sd3_tiny_generative_path tti_generative_path experiment=tti_generative_path model=sd3_tiny
}

if [ "$WHICH" = sd3 ]; then
  queue_sd3_a & a=$!
  queue_sd3_b & b=$!
  wait $a $b
  dlik tables architectures --out "$OUT/architectures.md" -i \
    "$OUT"/tti_prompt_confounds/results.csv "$OUT"/sd3_tiny_prompt_confounds/results.csv \
    "$OUT"/tti_quality/results.csv "$OUT"/sd3_tiny_quality/results.csv > /dev/null
else
  queue_a & a=$!
  queue_b & b=$!
  wait $a $b
fi
