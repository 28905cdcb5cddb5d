EA test 2 inflow per unit width (m2/s)
inflow
6 minutes
0 0
0 5
0.2 10
0.2 86
0 91
0 2880
