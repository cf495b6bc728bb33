#!/usr/bin/env bash
# Builds, from a CIFAR-10 folder laid out as ../shared/data/cifar10-jpg is (train/<class>/0000-1999.jpg,
# test/<class>/0000-0999.jpg), a folder of symbolic links holding only images that the cifar preset's
# settings were NOT tuned on. Tuning used training images 0000-0999 and test images 0000-0499 of each class;
# this folder's
#   train/<class>: training images 1000-1999 and test images 0500-0749 (12,500 images; the preset draws
#                  10,756: 500 labeled, 10,000 unlabeled, 256 held out)
#   test/<class>:  test images 0750-0999 (2,500 images; the preset uses 2,000)
# CIFAR-10's test images are drawn from the same distribution as its training images, so moving a quarter of
# them into the training split changes nothing but which images are used.
# Usage: bash scripts/cifar-confirm-folder.sh SOURCE_FOLDER DEST_FOLDER
set -euo pipefail
src=$(cd "${1:?usage: cifar-confirm-folder.sh SOURCE_FOLDER DEST_FOLDER}" && pwd)
dest=${2:?usage: cifar-confirm-folder.sh SOURCE_FOLDER DEST_FOLDER}
if [ -e "$dest" ]; then echo "$dest exists: choose a new destination or remove it" >&2; exit 2; fi
for class in $(ls "$src/train"); do
  mkdir -p "$dest/train/$class" "$dest/test/$class"
  for i in $(seq 1000 1999); do ln -s "$src/train/$class/$i.jpg" "$dest/train/$class/$i.jpg"; done
  for i in $(seq 500 749); do n=$(printf %04d "$i"); ln -s "$src/test/$class/$n.jpg" "$dest/train/$class/t$n.jpg"; done
  for i in $(seq 750 999); do n=$(printf %04d "$i"); ln -s "$src/test/$class/$n.jpg" "$dest/test/$class/$n.jpg"; done
done
echo "$dest: $(find "$dest/train" -type l | wc -l) training, $(find "$dest/test" -type l | wc -l) test images"
