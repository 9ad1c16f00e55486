;; The hot per-element loops of a wasm training step (BatchNorm statistics and its
;; gradient, the swish gradient, the depthwise filter gradient) as WebAssembly SIMD, run on
;; the tfjs wasm backend's own heap: the module imports that backend's memory, so every
;; pointer below is a tensor's byte offset there. Channel loops take 4 floats at a time,
;; so callers pass C % 4 == 0 (they fall back to JS otherwise). Sums over many pixels
;; are kept in f32 for at most 64 terms, then added into f64 accumulators.
;; Build: node --import tsx src/ml/backend/build-simd-kernels.ts (writes simd-kernels.wasm beside this file).
(module
  (import "env" "memory" (memory 1))

  ;; Stores zeros over n bytes at p (n % 16 == 0).
  (func $zero (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $l))))

  ;; acc64[i] += acc32[i] for i < n (n % 4 == 0), then acc32 = 0.
  (func $flush (export "flush") (param $acc32 i32) (param $acc64 i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $acc32) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $acc32) (local.get $end)))
        (local.set $v (v128.load (local.get $acc32)))
        (v128.store (local.get $acc64)
          (f64x2.add (v128.load (local.get $acc64)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $acc64)
          (f64x2.add (v128.load offset=16 (local.get $acc64))
            (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))))
        (v128.store (local.get $acc32) (v128.const i32x4 0 0 0 0))
        (local.set $acc32 (i32.add (local.get $acc32) (i32.const 16)))
        (local.set $acc64 (i32.add (local.get $acc64) (i32.const 32)))
        (br $l))))

  ;; Per channel c of [P, C] tensors a and b: accA[c] += sum_p a[p,c], accB[c] += sum_p a[p,c] * b[p,c].
  ;; accA, accB: C f64 each (the caller zeroes them); scr: 2*C f32 of scratch.
  (func (export "sum2") (param $a i32) (param $b i32) (param $P i32) (param $C i32)
                        (param $accA i32) (param $accB i32) (param $scr i32)
    (local $cb i32) (local $sB i32) (local $p i32) (local $k i32) (local $i i32) (local $va v128)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $sB (i32.add (local.get $scr) (local.get $cb)))
    (call $zero (local.get $scr) (i32.shl (local.get $cb) (i32.const 1)))
    (block $end
      (loop $pix
        (br_if $end (i32.ge_u (local.get $p) (local.get $P)))
        (local.set $i (i32.const 0))
        (block $ce
          (loop $ch
            (br_if $ce (i32.ge_u (local.get $i) (local.get $cb)))
            (local.set $va (v128.load (i32.add (local.get $a) (local.get $i))))
            (v128.store (i32.add (local.get $scr) (local.get $i))
              (f32x4.add (v128.load (i32.add (local.get $scr) (local.get $i))) (local.get $va)))
            (v128.store (i32.add (local.get $sB) (local.get $i))
              (f32x4.add (v128.load (i32.add (local.get $sB) (local.get $i)))
                (f32x4.mul (local.get $va) (v128.load (i32.add (local.get $b) (local.get $i))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $ch)))
        (local.set $a (i32.add (local.get $a) (local.get $cb)))
        (local.set $b (i32.add (local.get $b) (local.get $cb)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (if (i32.ge_u (local.get $k) (i32.const 64))
          (then
            (call $flush (local.get $scr) (local.get $accA) (local.get $C))
            (call $flush (local.get $sB) (local.get $accB) (local.get $C))
            (local.set $k (i32.const 0))))
        (br $pix)))
    (call $flush (local.get $scr) (local.get $accA) (local.get $C))
    (call $flush (local.get $sB) (local.get $accB) (local.get $C)))

  ;; y[p,c] = x[p,c] * a[c] + b[c] over [P, C] (a, b: C f32).
  (func (export "affine") (param $x i32) (param $y i32) (param $P i32) (param $C i32) (param $a i32) (param $b i32)
    (local $cb i32) (local $end i32) (local $i i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $P) (local.get $cb))))
    (block $done
      (loop $pix
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $i (i32.const 0))
        (block $ce
          (loop $ch
            (br_if $ce (i32.ge_u (local.get $i) (local.get $cb)))
            (v128.store (i32.add (local.get $y) (local.get $i))
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i))) (v128.load (i32.add (local.get $a) (local.get $i))))
                (v128.load (i32.add (local.get $b) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $ch)))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $y (i32.add (local.get $y) (local.get $cb)))
        (br $pix))))

  ;; dx[p,c] = k[c] * dy[p,c] + u[c] * x[p,c] + v[c] over [P, C] (k, u, v: C f32).
  (func (export "affine2") (param $dy i32) (param $x i32) (param $dx i32) (param $P i32) (param $C i32)
                           (param $k i32) (param $u i32) (param $v i32)
    (local $cb i32) (local $end i32) (local $i i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $P) (local.get $cb))))
    (block $done
      (loop $pix
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $i (i32.const 0))
        (block $ce
          (loop $ch
            (br_if $ce (i32.ge_u (local.get $i) (local.get $cb)))
            (v128.store (i32.add (local.get $dx) (local.get $i))
              (f32x4.add
                (f32x4.add
                  (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i))) (v128.load (i32.add (local.get $k) (local.get $i))))
                  (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i))) (v128.load (i32.add (local.get $u) (local.get $i)))))
                (v128.load (i32.add (local.get $v) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $ch)))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
        (local.set $dx (i32.add (local.get $dx) (local.get $cb)))
        (br $pix))))

  ;; dx = dy * s * (1 + x * (1 - s)) over n floats (any n), s = sigmoid(x) saved by the forward pass.
  (func (export "swishGrad") (param $dy i32) (param $x i32) (param $s i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $vecEnd i32) (local $end i32) (local $sv v128) (local $sf f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $sv (v128.load (i32.add (local.get $s) (local.get $i))))
        (v128.store (i32.add (local.get $dx) (local.get $i))
          (f32x4.mul
            (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i))) (local.get $sv))
            (f32x4.add (v128.const f32x4 1 1 1 1)
              (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i)))
                (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $sv))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    (block $tdone
      (loop $t
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $sf (f32.load (i32.add (local.get $s) (local.get $i))))
        (f32.store (i32.add (local.get $dx) (local.get $i))
          (f32.mul
            (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i))) (local.get $sf))
            (f32.add (f32.const 1)
              (f32.mul (f32.load (i32.add (local.get $x) (local.get $i)))
                (f32.sub (f32.const 1) (local.get $sf))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $t))))

  ;; One output row of the depthwise filter gradient (channel multiplier 1): for every
  ;; ow < OW and tap j < KW whose input column iw = ow*SW + j*DW - PL lies in [0, W),
  ;; acc[j, c] += xRow[iw, c] * dyRow[ow, c]. xRow is the input row the kernel row reads,
  ;; acc the f32 accumulators of that kernel row ([KW, C]).
  (func (export "depthwiseFilterRow") (param $xRow i32) (param $dyRow i32) (param $acc i32)
        (param $OW i32) (param $W i32) (param $C i32) (param $KW i32) (param $SW i32) (param $DW i32) (param $PL i32)
    (local $cb i32) (local $ow i32) (local $j i32) (local $iw i32) (local $i i32)
    (local $xb i32) (local $wb i32) (local $dyb i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $dyb (local.get $dyRow))
    (block $owDone
      (loop $owL
        (br_if $owDone (i32.ge_s (local.get $ow) (local.get $OW)))
        (local.set $j (i32.const 0))
        (block $jDone
          (loop $jL
            (br_if $jDone (i32.ge_s (local.get $j) (local.get $KW)))
            (local.set $iw
              (i32.sub
                (i32.add (i32.mul (local.get $ow) (local.get $SW)) (i32.mul (local.get $j) (local.get $DW)))
                (local.get $PL)))
            (if (i32.and (i32.ge_s (local.get $iw) (i32.const 0)) (i32.lt_s (local.get $iw) (local.get $W)))
              (then
                (local.set $xb (i32.add (local.get $xRow) (i32.mul (local.get $iw) (local.get $cb))))
                (local.set $wb (i32.add (local.get $acc) (i32.mul (local.get $j) (local.get $cb))))
                (local.set $i (i32.const 0))
                (block $ce
                  (loop $ch
                    (br_if $ce (i32.ge_u (local.get $i) (local.get $cb)))
                    (v128.store (i32.add (local.get $wb) (local.get $i))
                      (f32x4.add (v128.load (i32.add (local.get $wb) (local.get $i)))
                        (f32x4.mul (v128.load (i32.add (local.get $xb) (local.get $i)))
                                   (v128.load (i32.add (local.get $dyb) (local.get $i))))))
                    (local.set $i (i32.add (local.get $i) (i32.const 16)))
                    (br $ch)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jL)))
        (local.set $dyb (i32.add (local.get $dyb) (local.get $cb)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
        (br $owL))))

;; One output-gradient row's share of the depthwise input gradient (channel multiplier 1):
  ;; for every ow < OW and tap j < KW whose input column iw = ow*SW + j*DW - PL lies in
  ;; [0, W), dxRow[iw, c] += dyRow[ow, c] * wRow[j, c]. dxRow is the input row kernel row
  ;; wRow ([KW, C]) reads from that dy row. Strided convs scatter straight into dx this way,
  ;; with no spread-out copy of dy three quarters zeros.
  (func (export "depthwiseInputRow") (param $dyRow i32) (param $wRow i32) (param $dxRow i32)
        (param $OW i32) (param $W i32) (param $C i32) (param $KW i32) (param $SW i32) (param $DW i32) (param $PL i32)
    (local $cb i32) (local $ow i32) (local $j i32) (local $iw i32) (local $i i32)
    (local $xb i32) (local $wb i32) (local $dyb i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $dyb (local.get $dyRow))
    (block $owDone
      (loop $owL
        (br_if $owDone (i32.ge_s (local.get $ow) (local.get $OW)))
        (local.set $j (i32.const 0))
        (block $jDone
          (loop $jL
            (br_if $jDone (i32.ge_s (local.get $j) (local.get $KW)))
            (local.set $iw
              (i32.sub
                (i32.add (i32.mul (local.get $ow) (local.get $SW)) (i32.mul (local.get $j) (local.get $DW)))
                (local.get $PL)))
            (if (i32.and (i32.ge_s (local.get $iw) (i32.const 0)) (i32.lt_s (local.get $iw) (local.get $W)))
              (then
                (local.set $xb (i32.add (local.get $dxRow) (i32.mul (local.get $iw) (local.get $cb))))
                (local.set $wb (i32.add (local.get $wRow) (i32.mul (local.get $j) (local.get $cb))))
                (local.set $i (i32.const 0))
                (block $ce
                  (loop $ch
                    (br_if $ce (i32.ge_u (local.get $i) (local.get $cb)))
                    (v128.store (i32.add (local.get $xb) (local.get $i))
                      (f32x4.add (v128.load (i32.add (local.get $xb) (local.get $i)))
                        (f32x4.mul (v128.load (i32.add (local.get $wb) (local.get $i)))
                                   (v128.load (i32.add (local.get $dyb) (local.get $i))))))
                    (local.set $i (i32.add (local.get $i) (i32.const 16)))
                    (br $ch)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jL)))
        (local.set $dyb (i32.add (local.get $dyb) (local.get $cb)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
        (br $owL))))

    ;; dw[ci, co] += sum_p x[p, ci] * dy[p, co] for x [P, CI], dy [P, CO], dw [CI, CO]
  ;; (CI % 4 == 0, CO % 8 == 0): the filter gradient of a 1x1 conv. Blocks of 4 x 8 outputs
  ;; stay in registers while a chunk of 128 pixels streams past (the chunk stays in cache
  ;; for all blocks). The caller zeroes dw.
  (func (export "gemmAtB") (param $x i32) (param $dy i32) (param $dw i32) (param $P i32) (param $CI i32) (param $CO i32)
    (local $p0 i32) (local $pn i32) (local $ci i32) (local $co i32) (local $p i32)
    (local $cib i32) (local $cob i32) (local $xp i32) (local $dp i32) (local $wrow i32)
    (local $xv v128) (local $s v128) (local $d0 v128) (local $d1 v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local.set $cib (i32.shl (local.get $CI) (i32.const 2)))
    (local.set $cob (i32.shl (local.get $CO) (i32.const 2)))
    (block $chunksDone
      (loop $chunks
        (br_if $chunksDone (i32.ge_u (local.get $p0) (local.get $P)))
        (local.set $pn (i32.sub (local.get $P) (local.get $p0)))
        (if (i32.gt_u (local.get $pn) (i32.const 128)) (then (local.set $pn (i32.const 128))))
        (local.set $ci (i32.const 0))
        (block $ciDone
          (loop $ciL
            (br_if $ciDone (i32.ge_u (local.get $ci) (local.get $CI)))
            (local.set $co (i32.const 0))
            (block $coDone
              (loop $coL
                (br_if $coDone (i32.ge_u (local.get $co) (local.get $CO)))
                (local.set $wrow (i32.add (local.get $dw)
                  (i32.shl (i32.add (i32.mul (local.get $ci) (local.get $CO)) (local.get $co)) (i32.const 2))))
            (local.set $a00 (v128.load offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 0) (local.get $cob)))))
            (local.set $a01 (v128.load offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 0) (local.get $cob)))))
            (local.set $a10 (v128.load offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 1) (local.get $cob)))))
            (local.set $a11 (v128.load offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 1) (local.get $cob)))))
            (local.set $a20 (v128.load offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 2) (local.get $cob)))))
            (local.set $a21 (v128.load offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 2) (local.get $cob)))))
            (local.set $a30 (v128.load offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 3) (local.get $cob)))))
            (local.set $a31 (v128.load offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 3) (local.get $cob)))))
                (local.set $xp (i32.add (local.get $x)
                  (i32.shl (i32.add (i32.mul (local.get $p0) (local.get $CI)) (local.get $ci)) (i32.const 2))))
                (local.set $dp (i32.add (local.get $dy)
                  (i32.shl (i32.add (i32.mul (local.get $p0) (local.get $CO)) (local.get $co)) (i32.const 2))))
                (local.set $p (local.get $pn))
                (block $pDone
                  (loop $pL
                    (br_if $pDone (i32.eqz (local.get $p)))
                    (local.set $xv (v128.load (local.get $xp)))
                    (local.set $d0 (v128.load (local.get $dp)))
                    (local.set $d1 (v128.load offset=16 (local.get $dp)))
                (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $xv) (local.get $xv)))
                (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $xv) (local.get $xv)))
                (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $xv) (local.get $xv)))
                (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $xv) (local.get $xv)))
                (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $xp (i32.add (local.get $xp) (local.get $cib)))
                    (local.set $dp (i32.add (local.get $dp) (local.get $cob)))
                    (local.set $p (i32.sub (local.get $p) (i32.const 1)))
                    (br $pL)))
            (v128.store offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 0) (local.get $cob))) (local.get $a00))
            (v128.store offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 0) (local.get $cob))) (local.get $a01))
            (v128.store offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 1) (local.get $cob))) (local.get $a10))
            (v128.store offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 1) (local.get $cob))) (local.get $a11))
            (v128.store offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 2) (local.get $cob))) (local.get $a20))
            (v128.store offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 2) (local.get $cob))) (local.get $a21))
            (v128.store offset=0 (i32.add (local.get $wrow) (i32.mul (i32.const 3) (local.get $cob))) (local.get $a30))
            (v128.store offset=16 (i32.add (local.get $wrow) (i32.mul (i32.const 3) (local.get $cob))) (local.get $a31))
                (local.set $co (i32.add (local.get $co) (i32.const 8)))
                (br $coL)))
            (local.set $ci (i32.add (local.get $ci) (i32.const 4)))
            (br $ciL)))
        (local.set $p0 (i32.add (local.get $p0) (local.get $pn)))
        (br $chunks))))

  ;; accA[c] += sum_p a[p, c] for a [P, C] (the caller zeroes accA: C f64; scr: C f32 of scratch).
  (func (export "sum1") (param $a i32) (param $P i32) (param $C i32) (param $accA i32) (param $scr i32)
    (local $cb i32) (local $p i32) (local $k i32) (local $i i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (call $zero (local.get $scr) (local.get $cb))
    (block $end
      (loop $pix
        (br_if $end (i32.ge_u (local.get $p) (local.get $P)))
        (local.set $i (i32.const 0))
        (block $ce
          (loop $ch
            (br_if $ce (i32.ge_u (local.get $i) (local.get $cb)))
            (v128.store (i32.add (local.get $scr) (local.get $i))
              (f32x4.add (v128.load (i32.add (local.get $scr) (local.get $i))) (v128.load (i32.add (local.get $a) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $ch)))
        (local.set $a (i32.add (local.get $a) (local.get $cb)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (if (i32.ge_u (local.get $k) (i32.const 64))
          (then
            (call $flush (local.get $scr) (local.get $accA) (local.get $C))
            (local.set $k (i32.const 0))))
        (br $pix)))
    (call $flush (local.get $scr) (local.get $accA) (local.get $C)))

  ;; out[c, r] = in[r, c] for a [rows, cols] matrix (rows % 4 == 0, cols % 4 == 0), in 4 x 4 blocks.
  (func (export "transpose") (param $in i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $r i32) (local $c i32) (local $rb i32) (local $cb i32) (local $src i32) (local $dst i32)
    (local $a v128) (local $b v128) (local $cc v128) (local $d v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rb (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))
    (block $rDone
      (loop $rL
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $cDone
          (loop $cL
            (br_if $cDone (i32.ge_u (local.get $c) (local.get $cols)))
            (local.set $src (i32.add (local.get $in)
              (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
            (local.set $a (v128.load (local.get $src)))
            (local.set $b (v128.load (i32.add (local.get $src) (local.get $cb))))
            (local.set $cc (v128.load (i32.add (local.get $src) (i32.shl (local.get $cb) (i32.const 1)))))
            (local.set $d (v128.load (i32.add (local.get $src) (i32.mul (local.get $cb) (i32.const 3)))))
            ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $cc) (local.get $d)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $cc) (local.get $d)))
            (local.set $dst (i32.add (local.get $out)
              (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2))))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $dst) (local.get $rb))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $rb) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $rb) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cL)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rL))))

  ;; out = a . b for a [P, K], b [K, N], out [P, N] (P % 4 == 0, N % 8 == 0): the input
  ;; gradient of a 1x1 conv (dy . W^T). Chunks of 64 rows of a stay in cache while each
  ;; 8-column strip of b is used for all of them; blocks of 4 x 8 outputs stay in registers.
  (func (export "gemmAB") (param $a i32) (param $b i32) (param $out i32) (param $P i32) (param $K i32) (param $N i32)
    (local $pc i32) (local $pe i32) (local $p i32) (local $n i32) (local $k i32)
    (local $kb i32) (local $nb i32) (local $ap i32) (local $bp i32) (local $op i32)
    (local $kb1 i32) (local $kb2 i32) (local $kb3 i32) (local $s v128) (local $b0 v128) (local $b1 v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local.set $kb (i32.shl (local.get $K) (i32.const 2)))
    ;; the rows of a's 4-row block, as byte offsets from its first (hoisted: V8 does not)
    (local.set $kb1 (local.get $kb))
    (local.set $kb2 (i32.shl (local.get $kb) (i32.const 1)))
    (local.set $kb3 (i32.mul (local.get $kb) (i32.const 3)))
    (local.set $nb (i32.shl (local.get $N) (i32.const 2)))
    (block $chunksDone
      (loop $chunks
        (br_if $chunksDone (i32.ge_u (local.get $pc) (local.get $P)))
        (local.set $pe (i32.add (local.get $pc) (i32.const 64)))
        (if (i32.gt_u (local.get $pe) (local.get $P)) (then (local.set $pe (local.get $P))))
        (local.set $n (i32.const 0))
        (block $nDone
          (loop $nL
            (br_if $nDone (i32.ge_u (local.get $n) (local.get $N)))
            (local.set $p (local.get $pc))
            (block $pDone
              (loop $pL
                (br_if $pDone (i32.ge_u (local.get $p) (local.get $pe)))
                    (local.set $a00 (v128.const i32x4 0 0 0 0))
                    (local.set $a01 (v128.const i32x4 0 0 0 0))
                    (local.set $a10 (v128.const i32x4 0 0 0 0))
                    (local.set $a11 (v128.const i32x4 0 0 0 0))
                    (local.set $a20 (v128.const i32x4 0 0 0 0))
                    (local.set $a21 (v128.const i32x4 0 0 0 0))
                    (local.set $a30 (v128.const i32x4 0 0 0 0))
                    (local.set $a31 (v128.const i32x4 0 0 0 0))
                    (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $p) (local.get $kb))))
                    (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $n) (i32.const 2))))
                    (local.set $k (local.get $K))
                    (block $kDone
                      (loop $kL
                        (br_if $kDone (i32.eqz (local.get $k)))
                        (local.set $b0 (v128.load (local.get $bp)))
                        (local.set $b1 (v128.load offset=16 (local.get $bp)))
                        (local.set $s (v128.load32_splat (local.get $ap)))
                        (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s) (local.get $b0))))
                        (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s) (local.get $b1))))
                        (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $kb1))))
                        (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s) (local.get $b0))))
                        (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s) (local.get $b1))))
                        (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $kb2))))
                        (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $s) (local.get $b0))))
                        (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $s) (local.get $b1))))
                        (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $kb3))))
                        (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $s) (local.get $b0))))
                        (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $s) (local.get $b1))))
                        (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                        (local.set $bp (i32.add (local.get $bp) (local.get $nb)))
                        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                        (br $kL)))
                    (local.set $op (i32.add (local.get $out)
                      (i32.shl (i32.add (i32.mul (local.get $p) (local.get $N)) (local.get $n)) (i32.const 2))))
                    (v128.store offset=0 (i32.add (local.get $op) (i32.mul (i32.const 0) (local.get $nb))) (local.get $a00))
                    (v128.store offset=16 (i32.add (local.get $op) (i32.mul (i32.const 0) (local.get $nb))) (local.get $a01))
                    (v128.store offset=0 (i32.add (local.get $op) (i32.mul (i32.const 1) (local.get $nb))) (local.get $a10))
                    (v128.store offset=16 (i32.add (local.get $op) (i32.mul (i32.const 1) (local.get $nb))) (local.get $a11))
                    (v128.store offset=0 (i32.add (local.get $op) (i32.mul (i32.const 2) (local.get $nb))) (local.get $a20))
                    (v128.store offset=16 (i32.add (local.get $op) (i32.mul (i32.const 2) (local.get $nb))) (local.get $a21))
                    (v128.store offset=0 (i32.add (local.get $op) (i32.mul (i32.const 3) (local.get $nb))) (local.get $a30))
                    (v128.store offset=16 (i32.add (local.get $op) (i32.mul (i32.const 3) (local.get $nb))) (local.get $a31))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $pL)))
            (local.set $n (i32.add (local.get $n) (i32.const 8)))
            (br $nL)))
        (local.set $pc (local.get $pe))
        (br $chunks))))

  ;; One AdamW step over n floats (any n), into new buffers (tensors stay immutable):
  ;; m' = b1 m + (1-b1) g, v' = b2 v + (1-b2) g^2, w' = w decay - lr (m'/c1) / (sqrt(v'/c2) + eps),
  ;; in the same order of operations as src/ml/train/adamw.ts.
  (func (export "adamw") (param $w i32) (param $g i32) (param $m i32) (param $v i32)
        (param $wo i32) (param $mo i32) (param $vo i32) (param $n i32)
        (param $b1 f32) (param $ob1 f32) (param $b2 f32) (param $ob2 f32) (param $c1 f32) (param $c2 f32)
        (param $eps f32) (param $lr f32) (param $decay f32)
    (local $i i32) (local $end i32) (local $vecEnd i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $vecEnd)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (f32x4.splat (local.get $b1)))
                                  (f32x4.mul (local.get $gv) (f32x4.splat (local.get $ob1)))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (f32x4.splat (local.get $b2)))
                                  (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $ob2)))))
        (v128.store (i32.add (local.get $mo) (local.get $i)) (local.get $mv))
        (v128.store (i32.add (local.get $vo) (local.get $i)) (local.get $vv))
        (v128.store (i32.add (local.get $wo) (local.get $i))
          (f32x4.sub
            (f32x4.mul (v128.load (i32.add (local.get $w) (local.get $i))) (f32x4.splat (local.get $decay)))
            (f32x4.mul
              (f32x4.div (f32x4.div (local.get $mv) (f32x4.splat (local.get $c1)))
                         (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $c2)))) (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $lr)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    (block $tdone
      (loop $t
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (local.set $ms (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
                                (f32.mul (local.get $gs) (local.get $ob1))))
        (local.set $vs (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
                                (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $ob2))))
        (f32.store (i32.add (local.get $mo) (local.get $i)) (local.get $ms))
        (f32.store (i32.add (local.get $vo) (local.get $i)) (local.get $vs))
        (f32.store (i32.add (local.get $wo) (local.get $i))
          (f32.sub
            (f32.mul (f32.load (i32.add (local.get $w) (local.get $i))) (local.get $decay))
            (f32.mul
              (f32.div (f32.div (local.get $ms) (local.get $c1))
                       (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $c2))) (local.get $eps)))
              (local.get $lr))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $t))))
)
