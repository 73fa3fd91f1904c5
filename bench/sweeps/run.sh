#!/usr/bin/env bash
# Accuracy vs compression sweeps of BENCHMARKS.md (issue 5, item 4): frappe, lastfm-tag and a Criteo-shaped
# synthetic set with a large vocabulary, over full, hash, QR, double hashing, BH-succession and BH-skip, 3 seeds.
# Real data comes from ../shared/data (never copied into the project). Each sweep resumes where it stopped.
#   npm run bench:sweeps                      # all three (several hours on 2 cores)
#   bash bench/sweeps/run.sh frappe           # one of: frappe synthetic lastfm criteo-kaggle
#   METHODS=full,bh-succession,hybrid bash bench/sweeps/run.sh frappe   # a subset of the methods (same cells)
#   PROTOCOL=converge bash bench/sweeps/run.sh frappe   # every method, full included, trains until early stopping
#     ends it (validation AUC, patience 2, at most 100 epochs) instead of the set's fixed epoch count; results go
#     to <name>-converge. SEEDS=1,2,3 and RATIOS=… select cells as above.
# Results: bench/results/sweeps/<name>/{results.json,results.csv,results.md,auc-vs-compression.svg}
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${BHEMBED_DATA:-../shared/data}
OUT=bench/results/sweeps
B=${BHEMBED_BIN:-node dist/src/cli/bin.js}
COMMON=(--model dnn --dim 10 --mlp 400,400,400 --batch-norm --dropout 0.2 --batch-size 1024 --patience 2 --threads 2
  --seeds ${SEEDS:-1,2,3} --methods ${METHODS:-full,hash,qr,dhash,bh-succession,bh-skip,hybrid})
# epochs E: the set's fixed count (the tables of BENCHMARKS.md), or with PROTOCOL=converge at most 100 (patience 2
# stops every method, full included, at its own best validation epoch) and a separate results folder
SUF=; [ "${PROTOCOL:-fixed}" = converge ] && SUF=-converge
E() { if [ "${PROTOCOL:-fixed}" = converge ]; then echo 100; else echo "$1"; fi; }
mkdir -p "$OUT"
want() { [ $# -eq 0 ] || [[ " $* " == *" $NAME "* ]]; }

NAME=frappe; if want "$@"; then
  F=$DATA/frappe
  $B sweep --format libfm --train $F/train.libfm.gz --valid $F/valid.libfm.gz --test $F/test.libfm.gz "${COMMON[@]}" \
    --epochs $(E 10) --compressions ${RATIOS:-1,10,100,1000} --out-dir $OUT/frappe$SUF
fi

NAME=synthetic; if want "$@"; then
  S=$OUT/synthetic-data
  if [ ! -f $S/test.txt ]; then
    # 1.1M rows from one planted teacher (seed 7), split 1M / 50k / 50k: about 0.9M distinct values, so 1000x
    # still leaves hundreds of rows (the regime of the BH paper's Criteo/Avazu figures).
    mkdir -p $S
    $B generate --rows 1100000 --out $S/all.txt --seed 7 --teacher-seed 7 --no-prob -q
    head -n 1000000 $S/all.txt > $S/train.txt; sed -n 1000001,1050000p $S/all.txt > $S/valid.txt; tail -n 50000 $S/all.txt > $S/test.txt
    rm $S/all.txt
  fi
  $B sweep --format criteo --train $S/train.txt --valid $S/valid.txt --test $S/test.txt "${COMMON[@]}" \
    --epochs $(E 1) --compressions ${RATIOS:-10,100,1000,10000} --out-dir $OUT/synthetic$SUF
fi

NAME=lastfm; if want "$@"; then
  L=$DATA/lastfm-tag
  $B sweep --format libfm --train $L/train.libfm.gz --valid $L/valid.libfm.gz --test $L/test.libfm.gz "${COMMON[@]}" \
    --epochs $(E 3) --compressions ${RATIOS:-1,10,100,1000,10000} --out-dir $OUT/lastfm$SUF
fi

NAME=criteo-kaggle; if want "$@"; then
  # Issue 13: Criteo Kaggle cardinalities (generate --cardinalities kaggle: up to 10.1M values per field), 1.1M rows
  # from one teacher (seed 7), split 1M / 50k / 50k. The model of the issue's table: DNN, dim 16, the CLI's default
  # MLP (128-64), batch 256, 1 epoch, 2 threads. Kept in a temp folder (~280 MB), not under the project.
  K=${CRITEO_KAGGLE_DIR:-/tmp/bhembed-criteo-kaggle}
  if [ ! -f $K/test.txt ]; then
    mkdir -p $K
    $B generate --rows 1100000 --cardinalities kaggle --out $K/all.txt --seed 7 --teacher-seed 7 --no-prob -q
    head -n 1000000 $K/all.txt > $K/train.txt; sed -n 1000001,1050000p $K/all.txt > $K/valid.txt; tail -n 50000 $K/all.txt > $K/test.txt
    rm $K/all.txt
  fi
  $B sweep --format criteo --train $K/train.txt --valid $K/valid.txt --test $K/test.txt --model dnn --dim 16 --threads 2 \
    --epochs $(E 1) --patience 2 --seeds ${SEEDS:-1,2,3} --methods ${METHODS:-full,hash,qr,dhash,bh-succession,hybrid} \
    --compressions ${RATIOS:-1000,100,10} --out-dir $OUT/criteo-kaggle$SUF
fi
