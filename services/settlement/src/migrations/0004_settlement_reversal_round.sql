-- Two-phase reversal of a completed settlement (issue 12): every claw-back is first held (a pending
-- transfer into the escrow, id `<claw-back id>:hold:<round>`), then all are posted. A round whose
-- holds could not all be taken is undone (its holds voided, nothing moved) and the next attempt
-- uses the next round, so its hold ids are new.
ALTER TABLE settlements ADD COLUMN reversal_round INTEGER NOT NULL DEFAULT 0;
