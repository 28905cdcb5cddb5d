EA test 1 boundary level (specification table, minutes)
upstream
6 minutes
9.7 0
9.7 5
10.35 60
10.35 660
9.7 720
9.7 1200
