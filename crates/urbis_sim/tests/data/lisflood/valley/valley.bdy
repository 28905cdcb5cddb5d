inflow at the head of the valley (m2/s per unit width)
hydrograph
5 hours
0 0
1.5 0.25
4 1
1 2
0 3
